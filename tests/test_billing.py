"""Exact billing: the price formula on upstream usage, tiktoken counts when there is none, refunds on
failure, token and user balances, charging down to zero, and 200 requests racing on one key."""
import asyncio

import pytest
import tiktoken

from tests.relay_support import CHAT, chat_prompt_tokens, consume_log_entries, set_prices
from tests.upstreams.openai_mock import COMPLETION_TOKENS, PROMPT_TOKENS, REPLY_WORDS


async def chat(gateway, key, **extra):
    return await gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, **extra}, key=key)


async def token_of(gateway, user):
    [token] = (await gateway.services.db.tokens.page(user.id, "", 0, 10))[0]
    return token


async def user_row(gateway, user):
    return await gateway.services.db.users.get(user.id)


@pytest.mark.gen_test
@pytest.mark.parametrize("stream", [False, True])
async def test_charge_is_group_ratio_times_model_ratio_times_weighted_tokens(gateway, upstream, stream):
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 2}, completion_ratio={"gpt-4o-mini": 4},
                     group_ratio={"default": 1, "vip": 1.5})
    user = await gateway.make_user(quota=100_000, group="vip")
    key = await gateway.make_token(user, remain_quota=40_000)
    channel = await gateway.make_channel(upstream.url, group="vip")

    response = await chat(gateway, key, stream=stream)
    await gateway.settled()

    assert response.status == 200
    expected = 117     # 1.5 × 2 × (11 + 7 × 4)
    row = await user_row(gateway, user)
    assert (row.quota, row.used_quota, row.request_count) == (100_000 - expected, expected, 1)
    token = await token_of(gateway, user)
    assert (token.remain_quota, token.used_quota) == (40_000 - expected, expected)
    assert (await gateway.services.db.channels.get(channel.id)).used_quota == expected
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["quota"], entry["unpaid_quota"], entry["prompt_tokens"], entry["completion_tokens"]) == (
        expected, 0, PROMPT_TOKENS, COMPLETION_TOKENS)
    assert (entry["other"]["model_ratio"], entry["other"]["completion_ratio"], entry["other"]["group_ratio"]) == (
        2, 4, 1.5)
    assert (entry["group"], entry["channel_id"], entry["token_name"], entry["is_stream"]) == (
        "vip", channel.id, "test", stream)


@pytest.mark.gen_test
async def test_fractional_costs_round_half_up(gateway, upstream):
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 0.075}, completion_ratio={"gpt-4o-mini": 4},
                     group_ratio={"default": 1})
    user = await gateway.make_user(quota=100_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)

    assert (await chat(gateway, key)).status == 200
    await gateway.settled()

    assert await gateway.quota_of(user) == 100_000 - 3     # 0.075 × (11 + 28) = 2.925


@pytest.mark.gen_test
@pytest.mark.parametrize("model, encoding_name", [("gpt-4o-mini", "o200k_base"), ("gpt-4", "cl100k_base")])
@pytest.mark.parametrize("stream", [False, True])
async def test_without_upstream_usage_tiktoken_counts_both_sides(gateway, upstream, model, encoding_name, stream):
    await set_prices(gateway, model_ratio={model: 3}, completion_ratio={model: 2}, group_ratio={"default": 1})
    user = await gateway.make_user(quota=100_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url, key="key-nousage", models=model)
    messages = [{"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say hello, then stop: déjà vu 你好"}]

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key,
                                   json={"model": model, "messages": messages, "stream": stream})
    await gateway.settled()

    assert response.status == 200
    encoding = tiktoken.get_encoding(encoding_name)
    prompt = chat_prompt_tokens(encoding, messages)
    completion = len(encoding.encode_ordinary("".join(REPLY_WORDS)))
    assert (prompt, completion) == ((25, 6) if encoding_name == "o200k_base" else (26, 6))
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (prompt, completion)
    assert entry["quota"] == 3 * (prompt + completion * 2)
    assert await gateway.quota_of(user) == 100_000 - entry["quota"]


@pytest.mark.gen_test
@pytest.mark.parametrize("stream", [False, True])
async def test_failed_request_is_refunded_in_full(gateway, upstream, stream):
    user = await gateway.make_user(quota=100_000)
    key = await gateway.make_token(user, remain_quota=50_000)
    await gateway.make_channel(upstream.url, key="key-500")

    response = await chat(gateway, key, stream=stream)
    await gateway.settled()

    assert response.status == 500
    row = await user_row(gateway, user)
    assert (row.quota, row.used_quota, row.request_count) == (100_000, 0, 0)
    token = await token_of(gateway, user)
    assert (token.remain_quota, token.used_quota) == (50_000, 0)
    assert await consume_log_entries(gateway, user) == []


@pytest.mark.gen_test
async def test_unlimited_token_keeps_its_remaining_quota(gateway, upstream):
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 1}, completion_ratio={"gpt-4o-mini": 1},
                     group_ratio={"default": 1})
    user = await gateway.make_user(quota=100_000)
    key = await gateway.make_token(user, unlimited_quota=True, remain_quota=5)
    await gateway.make_channel(upstream.url)

    assert (await chat(gateway, key)).status == 200
    await gateway.settled()

    token = await token_of(gateway, user)
    assert (token.remain_quota, token.used_quota) == (5, 18)
    assert await gateway.quota_of(user) == 100_000 - 18


@pytest.mark.gen_test
@pytest.mark.parametrize("user_quota, token_quota, paid", [(15, 1000, 15), (1000, 12, 12), (13, 14, 13)])
async def test_cost_beyond_what_is_left_charges_down_to_zero(gateway, upstream, user_quota, token_quota, paid):
    # Prices 1/1/1: the estimate for max_tokens=1 is 9 + 1 = 10, the real cost 11 + 7 = 18.
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 1}, completion_ratio={"gpt-4o-mini": 1},
                     group_ratio={"default": 1})
    user = await gateway.make_user(quota=user_quota)
    key = await gateway.make_token(user, remain_quota=token_quota)
    await gateway.make_channel(upstream.url)

    response = await chat(gateway, key, max_tokens=1)
    await gateway.settled()

    assert response.status == 200
    row = await user_row(gateway, user)
    token = await token_of(gateway, user)
    assert (row.quota, row.used_quota) == (user_quota - paid, paid)
    assert (token.remain_quota, token.used_quota) == (token_quota - paid, paid)
    assert min(row.quota, token.remain_quota) == 0
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["quota"], entry["unpaid_quota"]) == (paid, 18 - paid)


@pytest.mark.gen_test(timeout=120)
@pytest.mark.parametrize("limit_on", ["user", "token"])
async def test_200_concurrent_requests_never_overdraw(gateway, upstream, limit_on):
    # Each request pre-charges 9 + 7 = 16 and really costs 18; the limited balance covers about 50.
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 1}, completion_ratio={"gpt-4o-mini": 1},
                     group_ratio={"default": 1})
    start_user, start_token = (900, 10**7) if limit_on == "user" else (10**7, 900)
    user = await gateway.make_user(quota=start_user)
    key = await gateway.make_token(user, remain_quota=start_token)
    await gateway.make_channel(upstream.url)

    responses = await asyncio.gather(*(chat(gateway, key, max_tokens=7) for _ in range(200)))
    await gateway.settled()

    statuses = [r.status for r in responses]
    assert set(statuses) == {200, 403}
    assert {r.json["error"]["type"] for r in responses if r.status == 403} == {"insufficient_quota"}
    row, token = await user_row(gateway, user), await token_of(gateway, user)
    assert row.quota >= 0 and token.remain_quota >= 0
    entries = await consume_log_entries(gateway, user)
    assert len(entries) == statuses.count(200)
    logged = sum(e["quota"] for e in entries)
    assert logged == start_user - row.quota == start_token - token.remain_quota
    assert logged == row.used_quota == token.used_quota
    assert all(e["quota"] + e["unpaid_quota"] == 18 and e["quota"] >= 0 for e in entries)
    assert 900 // 18 <= len(entries) <= 900 // 16


@pytest.mark.gen_test
async def test_large_prompt_is_counted_exactly(gateway, upstream):
    # Large enough that the count runs off the event loop.
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 1}, completion_ratio={"gpt-4o-mini": 1},
                     group_ratio={"default": 1})
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url, key="key-nousage")
    messages = [{"role": "user", "content": "lorem ipsum dolor " * 3000}]

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key,
                                   json={"model": "gpt-4o-mini", "messages": messages})
    await gateway.settled()

    assert response.status == 200
    encoding = tiktoken.get_encoding("o200k_base")
    prompt = chat_prompt_tokens(encoding, messages)
    assert prompt > 9000
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["prompt_tokens"], entry["quota"]) == (prompt, prompt + 6)
