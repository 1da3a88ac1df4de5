"""OpenAI's dashboard billing endpoints for a Tollgate key, as key-based tools call them."""
import time

import pytest

from tests.mgmt_support import person

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
PATHS = ("/v1/dashboard/billing/{}", "/dashboard/billing/{}")


async def spent_token(gateway, upstream, **fields):
    """A user's token that has paid for one chat call; returns (person, key, token)."""
    alice = await person(gateway, "alice", quota=10_000_000)
    await gateway.make_channel(upstream.url)
    key = await gateway.make_token(alice.user, **fields)
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
    await gateway.settled()
    token = await gateway.services.db.tokens.by_key_hash(gateway.services.keyring.hash(key[3:]))
    assert token.used_quota > 0
    return alice, key, token


@pytest.mark.gen_test(timeout=60)
async def test_token_numbers_in_openai_shapes_on_both_paths(gateway, upstream):
    expiry = int(time.time()) + 86400
    _, key, token = await spent_token(gateway, upstream, remain_quota=250_000, expired_time=expiry)
    for path in PATHS:
        sub = await gateway.fetch(path.format("subscription"), key=key)
        assert sub.status == 200 and sub.headers["Access-Control-Allow-Origin"] == "*"
        total = (token.remain_quota + token.used_quota) / 500_000
        assert sub.json == {"object": "billing_subscription", "has_payment_method": True, "soft_limit_usd": total,
                            "hard_limit_usd": total, "system_hard_limit_usd": total, "access_until": expiry}
        usage = await gateway.fetch(path.format("usage") + "?start_date=2024-01-01&end_date=2024-02-01", key=key)
        assert usage.json == {"object": "list", "total_usage": token.used_quota / 500_000 * 100}


@pytest.mark.gen_test(timeout=60)
async def test_unlimited_tokens_and_quota_units(gateway, upstream):
    _, key, token = await spent_token(gateway, upstream)
    sub = (await gateway.fetch("/v1/dashboard/billing/subscription", key=key)).json
    assert sub["hard_limit_usd"] == 100_000_000 and sub["access_until"] == 0
    await gateway.services.options.set("DisplayInCurrencyEnabled", "false")
    usage = (await gateway.fetch("/dashboard/billing/usage", key=key)).json
    assert usage["total_usage"] == token.used_quota * 100


@pytest.mark.gen_test(timeout=60)
async def test_owner_numbers_when_token_stats_are_off(gateway, upstream):
    alice, key, token = await spent_token(gateway, upstream, remain_quota=400_000)
    await gateway.settled()
    user = await gateway.services.db.users.get(alice.user.id)
    await gateway.services.options.set("DisplayTokenStatEnabled", "false")
    sub = (await gateway.fetch("/v1/dashboard/billing/subscription", key=key)).json
    assert sub["hard_limit_usd"] == (user.quota + user.used_quota) / 500_000 and sub["access_until"] == 0
    usage = (await gateway.fetch("/dashboard/billing/usage", key=key)).json
    assert usage["total_usage"] == user.used_quota / 500_000 * 100


@pytest.mark.gen_test(timeout=60)
async def test_a_spent_or_disabled_key_still_reads_and_a_bad_key_is_refused(gateway, upstream):
    alice, key, token = await spent_token(gateway, upstream, remain_quota=300_000)
    await gateway.services.db.tokens.update(token.id, {"remain_quota": 0, "status": 2})
    sub = await gateway.fetch("/v1/dashboard/billing/subscription", key=key)
    assert sub.status == 200 and sub.json["hard_limit_usd"] == token.used_quota / 500_000
    for bad in ("sk-" + "0" * 48, None):
        response = await gateway.fetch("/v1/dashboard/billing/usage", key=bad)
        assert response.status == 401 and response.json["error"]["code"] == "invalid_api_key"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    await gateway.services.db.users.update(alice.user.id, {"status": 2})
    disabled = await gateway.fetch("/dashboard/billing/subscription", key=key)
    assert disabled.status == 403 and disabled.json["error"]["code"] == "user_disabled"


@pytest.mark.gen_test(timeout=60)
async def test_cors_preflight(gateway):
    for path in PATHS:
        response = await gateway.fetch(path.format("usage"), "OPTIONS", headers={
            "Origin": "https://neko.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert response.status == 204 and response.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in response.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    wrong = await gateway.fetch("/v1/dashboard/billing/usage", "POST", json={})
    assert wrong.status == 405
