"""MEMORY_CACHE_ENABLED: with it, tokens are served from memory for TOKEN_CACHE_SECONDS; without it, every
request reads MongoDB, so even a change made behind the gateway's back is seen at once."""
import asyncio

import pytest

from services.cache import TtlCache


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


# The cache itself: served from memory while fresh, and while a reload runs once it is not --------------
class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Source:
    """A load whose answers the test releases one by one, counting the loads begun."""

    def __init__(self):
        self.calls = 0
        self.pending = []

    async def load(self):
        self.calls += 1
        answer = asyncio.get_running_loop().create_future()
        self.pending.append(answer)
        return await answer

    def answer(self, value):
        self.pending.pop(0).set_result(value)

    def fail(self, error):
        self.pending.pop(0).set_exception(error)


async def settle():
    """Let every task that can run, run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def cached(cache, source, key="k", value="v1"):
    """`key` loaded into `cache` with `value`."""
    getting = asyncio.ensure_future(cache.get(key, source.load))
    await settle()
    source.answer(value)
    return await getting


async def cached_then_aged(seconds):
    """A cache of 5 seconds holding "k" = "v1", `seconds` after it was read."""
    clock = Clock()
    cache, source = TtlCache(5, clock=clock), Source()
    await cached(cache, source)
    clock.now += seconds
    return clock, cache, source


@pytest.mark.gen_test
async def test_concurrent_misses_share_one_load():
    cache, source = TtlCache(5, clock=Clock()), Source()
    waiting = [asyncio.ensure_future(cache.get("k", source.load)) for _ in range(20)]
    await settle()
    assert source.calls == 1
    source.answer("v1")
    assert await asyncio.gather(*waiting) == ["v1"] * 20
    assert await cache.get("k", source.load) == "v1" and source.calls == 1


@pytest.mark.gen_test
async def test_an_old_entry_is_served_while_one_reload_runs():
    _, cache, source = await cached_then_aged(6)    # past its time: still served, at once, while it is re-read
    assert [await cache.get("k", source.load) for _ in range(10)] == ["v1"] * 10
    await settle()
    assert source.calls == 2
    source.answer("v2")
    await settle()
    assert await cache.get("k", source.load) == "v2" and source.calls == 2


@pytest.mark.gen_test
async def test_an_entry_twice_its_time_old_is_read_again_before_it_is_served():
    _, cache, source = await cached_then_aged(11)
    assert await cached(cache, source, value="v2") == "v2"


@pytest.mark.gen_test
async def test_a_failed_reload_keeps_the_old_entry_and_is_tried_again():
    clock, cache, source = await cached_then_aged(6)
    assert await cache.get("k", source.load) == "v1"
    await settle()
    source.fail(ConnectionError("database away"))
    await settle()
    assert await cache.get("k", source.load) == "v1"     # still the old one, and a new reload begins
    await settle()
    assert source.calls == 3
    clock.now += 5                                       # too old to serve: the waiting request sees the error
    getting = asyncio.ensure_future(cache.get("k", source.load))
    await settle()
    source.fail(ConnectionError("database away"))
    with pytest.raises(ConnectionError):
        await getting


@pytest.mark.gen_test
async def test_a_load_begun_before_a_drop_does_not_store_what_it_read():
    cache, source = TtlCache(5, clock=Clock()), Source()
    first = asyncio.ensure_future(cache.get("k", source.load))
    await settle()
    cache.drop("k")                           # changed while it was being read
    second = asyncio.ensure_future(cache.get("k", source.load))
    await settle()
    assert source.calls == 2                  # the request after the change does not join the old read
    source.answer("before")
    source.answer("after")
    assert (await first, await second) == ("before", "after")
    assert await cache.get("k", source.load) == "after"


@pytest.mark.gen_test
async def test_a_cancelled_request_does_not_cancel_the_shared_load():
    cache, source = TtlCache(5, clock=Clock()), Source()
    first = asyncio.ensure_future(cache.get("k", source.load))
    second = asyncio.ensure_future(cache.get("k", source.load))
    await settle()
    first.cancel()
    await settle()
    source.answer("v1")
    assert await second == "v1"
    assert first.cancelled()


@pytest.mark.gen_test
async def test_without_a_time_every_get_loads():
    cache, source = TtlCache(0, clock=Clock()), Source()
    assert await cached(cache, source) == "v1"
    assert await cached(cache, source, value="v2") == "v2"
    assert source.calls == 2
