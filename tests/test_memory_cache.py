"""MEMORY_CACHE_ENABLED: with it, tokens are served from memory for TOKEN_CACHE_SECONDS; without it, every
request reads MongoDB, so even a change made behind the gateway's back is seen at once."""
import pytest


async def disable_behind_the_back(gateway, user):
    [token] = (await gateway.services.db.tokens.page(user.id, "", 0, 10))[0]
    await gateway.services.db.tokens.update(token.id, {"status": 2})


class TestWithMemoryCache:
    @pytest.fixture
    def settings_overrides(self):
        return {"memory_cache_enabled": True, "token_cache_seconds": 3600}

    @pytest.mark.gen_test
    async def test_a_cached_token_is_served_from_memory(self, gateway):
        user = await gateway.make_user()
        key = await gateway.make_token(user)
        assert (await gateway.fetch("/v1/models", key=key)).status == 200
        await disable_behind_the_back(gateway, user)
        assert (await gateway.fetch("/v1/models", key=key)).status == 200


class TestWithoutMemoryCache:
    @pytest.fixture
    def settings_overrides(self):
        return {"memory_cache_enabled": False, "token_cache_seconds": 3600}

    @pytest.mark.gen_test
    async def test_every_request_reads_the_token(self, gateway):
        user = await gateway.make_user()
        key = await gateway.make_token(user)
        assert (await gateway.fetch("/v1/models", key=key)).status == 200
        await disable_behind_the_back(gateway, user)
        assert (await gateway.fetch("/v1/models", key=key)).status == 401
