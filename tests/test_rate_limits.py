"""Rate limits per client address, counted in memory without Redis, and in memory again when the
configured Redis does not answer (requests keep working from MongoDB)."""
import pytest

from services.embedded_mongo import free_port
from services.errors import ServiceError
from services.redis_guard import PAUSE_SECONDS, RedisGuard
from services.tokens import public_token

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def settings_overrides():
    # A Redis URL where nothing listens: every Redis call fails at once.
    return {"global_api_rate_limit": 3, "critical_rate_limit": 2,
            "redis_conn_string": f"redis://127.0.0.1:{free_port()}/0"}


@pytest.mark.gen_test
async def test_api_requests_past_the_limit_get_429_in_the_envelope(gateway):
    codes = [(await gateway.fetch("/api/status")).status for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = await gateway.fetch("/api/status")
    assert response.json == {"success": False, "message": response.json["message"]}
    assert "too many requests" in response.json["message"]


@pytest.mark.gen_test
async def test_login_attempts_have_a_stricter_limit(gateway):
    bad = {"username": "root", "password": "wrong-password"}
    codes = [(await gateway.fetch("/api/user/login", "POST", json=bad)).status for _ in range(3)]
    assert codes == [401, 401, 429]


@pytest.mark.gen_test
async def test_with_redis_down_the_relay_keeps_working_from_mongodb(gateway, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)
    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)
    assert response.status == 200
    await gateway.settled()
    assert len(await gateway.logs(user_id=user.id)) == 1


@pytest.mark.gen_test
async def test_after_a_redis_failure_redis_is_left_alone_for_a_while(gateway):
    guard = RedisGuard(gateway.services.redis, clock=lambda: now[0])
    now, attempts = [100.0], []

    async def ping(redis):
        attempts.append(now[0])
        return await redis.ping()

    assert await guard.call("ping", ping, default="fallback") == "fallback"     # nothing listens
    now[0] += PAUSE_SECONDS - 1
    assert await guard.call("ping", ping, default="fallback") == "fallback"
    now[0] += 2
    await guard.call("ping", ping)
    assert attempts == [100.0, 100.0 + PAUSE_SECONDS + 1]     # not tried while paused


@pytest.mark.gen_test
async def test_a_token_with_a_per_minute_limit_gets_429_in_openai_shape(gateway, upstream):
    user = await gateway.make_user()
    limited = await gateway.make_token(user, rpm_limit=2)
    free = await gateway.make_token(user, name="free")
    await gateway.make_channel(upstream.url)
    codes = [(await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=limited)).status for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=limited)
    assert refused.json["error"]["code"] == "rate_limit_exceeded" and refused.json["error"]["type"]
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=free)).status == 200
    await gateway.settled()
    assert len(await gateway.logs(user_id=user.id)) == 3        # the refused calls cost nothing


@pytest.mark.gen_test
async def test_rpm_limit_is_validated_and_shown(gateway):
    user = await gateway.make_user()
    with pytest.raises(ServiceError):
        await gateway.services.tokens.create(user.id, {"name": "bad", "rpm_limit": -1})
    token, _ = await gateway.services.tokens.create(user.id, {"name": "ok", "rpm_limit": 30})
    assert public_token(token)["rpm_limit"] == 30
