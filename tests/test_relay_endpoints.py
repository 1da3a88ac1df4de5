"""/v1/completions, /v1/embeddings and /v1/models through a real local upstream."""
import email.utils
import time

import pytest

from tests.relay_support import consume_log_entries, set_prices, sse_data
from tests.upstreams.openai_mock import COMPLETION_TOKENS, PROMPT_TOKENS, REPLY_WORDS

INSTRUCT = "gpt-3.5-turbo-instruct"
EMBED = "text-embedding-3-small"


async def priced(gateway, upstream):
    """A user with a limited key, one channel for the three models, integer prices."""
    await set_prices(gateway, model_ratio={INSTRUCT: 2, EMBED: 3}, completion_ratio={INSTRUCT: 5},
                     group_ratio={"default": 1})
    user = await gateway.make_user(quota=100_000)
    key = await gateway.make_token(user, remain_quota=50_000)
    await gateway.make_channel(upstream.url, models=f"{INSTRUCT},{EMBED}")
    return user, key


@pytest.mark.gen_test
async def test_completions_non_stream(gateway, upstream):
    user, key = await priced(gateway, upstream)

    response = await gateway.fetch("/v1/completions", "POST", key=key,
                                   json={"model": INSTRUCT, "prompt": "Say hello"})
    await gateway.settled()

    assert response.status == 200
    assert response.json["choices"][0]["text"] == "".join(REPLY_WORDS)
    assert upstream.requests[0][0] == "/v1/completions"
    expected = 2 * (PROMPT_TOKENS + COMPLETION_TOKENS * 5)
    assert await gateway.quota_of(user) == 100_000 - expected
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["model_name"], entry["quota"], entry["is_stream"]) == (INSTRUCT, expected, False)


@pytest.mark.gen_test
async def test_completions_stream(gateway, upstream):
    user, key = await priced(gateway, upstream)
    chunks = []

    response = await gateway.fetch("/v1/completions", "POST", key=key, streaming_callback=chunks.append,
                                   json={"model": INSTRUCT, "prompt": "Say hello", "stream": True})
    await gateway.settled()

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = sse_data(b"".join(chunks))
    assert events[-1] == "[DONE]"
    assert [e["choices"][0]["text"] for e in events[:-1]] == REPLY_WORDS
    expected = 2 * (PROMPT_TOKENS + COMPLETION_TOKENS * 5)
    assert await gateway.quota_of(user) == 100_000 - expected
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["quota"], entry["is_stream"]) == (expected, True)


@pytest.mark.gen_test
async def test_embeddings_are_billed_on_input_tokens(gateway, upstream):
    user, key = await priced(gateway, upstream)

    response = await gateway.fetch("/v1/embeddings", "POST", key=key,
                                   json={"model": EMBED, "input": "hello world", "stream": True})
    await gateway.settled()

    assert response.status == 200
    assert response.json["data"][0]["embedding"] == [0.1, 0.2]
    assert upstream.requests[0][0] == "/v1/embeddings"
    assert await gateway.quota_of(user) == 100_000 - 3 * PROMPT_TOKENS
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["prompt_tokens"], entry["completion_tokens"], entry["quota"]) == (PROMPT_TOKENS, 0, 33)
    assert entry["is_stream"] is False   # embeddings never stream


async def model_ids(gateway, key):
    response = await gateway.fetch("/v1/models", key=key)
    assert response.status == 200
    assert response.json["object"] == "list"
    return [m["id"] for m in response.json["data"]]


@pytest.mark.gen_test
async def test_models_lists_what_the_key_may_use(gateway, upstream):
    await gateway.make_channel(upstream.url, models="gpt-4o-mini,gpt-4o", group="default")
    await gateway.make_channel(upstream.url, models="o3", group="vip")
    await gateway.make_channel(upstream.url, models="gpt-4.1", group="default", status=2)
    alice = await gateway.make_user("alice")
    bob = await gateway.make_user("bob", group="vip")

    assert await model_ids(gateway, await gateway.make_token(alice)) == ["gpt-4o", "gpt-4o-mini"]
    assert await model_ids(gateway, await gateway.make_token(alice, models=["gpt-4o", "o3"])) == ["gpt-4o"]
    assert await model_ids(gateway, await gateway.make_token(bob)) == ["o3"]
    # A token's own group (one its owner may use) overrides its owner's.
    await gateway.services.options.set("UserUsableGroups", '{"default": "default group", "vip": "VIP"}')
    assert await model_ids(gateway, await gateway.make_token(alice, group="vip")) == ["o3"]


@pytest.mark.gen_test
async def test_models_needs_a_key(gateway, upstream):
    response = await gateway.fetch("/v1/models")
    assert response.status == 401
    assert response.json["error"]["code"] == "missing_api_key"


@pytest.mark.gen_test
async def test_answers_carry_the_current_date_and_a_request_id(gateway, upstream):
    user, key = await priced(gateway, upstream)
    before = time.time()

    for path in ("/v1/models", "/api/status"):
        response = await gateway.fetch(path, key=key)

        assert response.status == 200
        sent = email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
        assert int(before) - 1 <= sent <= time.time() + 1
        assert response.headers["Server"].startswith("TornadoServer/")
        assert len(response.headers["X-Request-Id"]) == 16
