"""Every refused request: its own message in OpenAI's error shape, the right status, nothing charged
and nothing logged."""
import time

import pytest
import ujson

from tests.relay_support import CHAT, consume_log_entries

START_USER, START_TOKEN = 100_000, 50_000


async def world(gateway, upstream, **token_fields):
    user = await gateway.make_user(quota=START_USER)
    token_fields.setdefault("remain_quota", START_TOKEN)
    key = await gateway.make_token(user, **token_fields)
    await gateway.make_channel(upstream.url, models="gpt-4o-mini,gpt-4o")
    return user, key


async def token_row(gateway, user):
    [token] = (await gateway.services.db.tokens.page(user.id, "", 0, 10))[0]
    return token


async def set_token(gateway, user, **fields):
    await gateway.services.db.tokens.update((await token_row(gateway, user)).id, fields)


def raw(body: bytes):
    return {"body": body, "headers": {"Content-Type": "application/json"}}


# name: (set-up → fetch kwargs, status, code, words the message must hold)
async def bad_json(gateway, user, key):
    return {"key": key, **raw(b'{"model": "gpt-4o-mini", "messages": [')}


async def not_an_object(gateway, user, key):
    return {"key": key, **raw(b'["gpt-4o-mini"]')}


async def missing_model(gateway, user, key):
    return {"key": key, "json": {"messages": CHAT["messages"]}}


async def missing_messages(gateway, user, key):
    return {"key": key, "json": {"model": "gpt-4o-mini"}}


async def unknown_model(gateway, user, key):
    return {"key": key, "json": {**CHAT, "model": "no-such-model"}}


async def model_not_allowed(gateway, user, key):
    await set_token(gateway, user, models=["gpt-4o"])
    return {"key": key, "json": CHAT}


async def disabled_key(gateway, user, key):
    await set_token(gateway, user, status=2)
    return {"key": key, "json": CHAT}


async def expired_key(gateway, user, key):
    await set_token(gateway, user, expired_time=int(time.time()) - 60)
    return {"key": key, "json": CHAT}


async def invalid_key(gateway, user, key):
    return {"key": "sk-" + "x" * 48, "json": CHAT}


async def missing_key(gateway, user, key):
    return {"json": CHAT}


async def token_exhausted(gateway, user, key):
    await set_token(gateway, user, remain_quota=0)
    return {"key": key, "json": CHAT}


async def token_short(gateway, user, key):
    await set_token(gateway, user, remain_quota=5)
    return {"key": key, "json": CHAT}


async def user_exhausted(gateway, user, key):
    await gateway.services.db.users.update(user.id, {"quota": 0})
    return {"key": key, "json": CHAT}


async def user_disabled(gateway, user, key):
    await gateway.services.db.users.update(user.id, {"status": 2})
    return {"key": key, "json": CHAT}


async def bad_message_part(gateway, user, key):
    return {"key": key, "json": {**CHAT, "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}}


async def bad_stream_options(gateway, user, key):
    return {"key": key, "json": {**CHAT, "stream": True, "stream_options": 5}}


async def unknown_route(gateway, user, key):
    return {"key": key, "json": CHAT, "path": "/v1/chat/complete"}


CASES = {
    bad_json: (400, "invalid_json", "JSON"),
    not_an_object: (400, "invalid_json", "JSON object"),
    missing_model: (400, "missing_model", "model"),
    missing_messages: (400, "invalid_messages", "messages"),
    bad_stream_options: (400, "invalid_stream_options", "stream_options"),
    bad_message_part: (400, "invalid_request_field", "messages[0].content[0].text"),
    unknown_model: (404, "model_not_found", "no-such-model"),
    model_not_allowed: (403, "model_not_allowed", "gpt-4o-mini"),
    disabled_key: (401, "token_disabled", "disabled"),
    expired_key: (401, "token_expired", "expired"),
    invalid_key: (401, "invalid_api_key", "Invalid"),
    missing_key: (401, "missing_api_key", "No API key"),
    token_exhausted: (403, "token_quota_exhausted", "no quota left"),
    token_short: (403, "pre_consume_token_quota_failed", "not enough quota"),
    user_exhausted: (403, "insufficient_user_quota", "Your account"),
    user_disabled: (403, "user_disabled", "disabled"),
    unknown_route: (404, "route_not_found", "/v1/chat/complete"),
}


@pytest.mark.gen_test
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
async def test_refused_request(gateway, upstream, case):
    user, key = await world(gateway, upstream)
    status, code, words = CASES[case]
    kwargs = await case(gateway, user, key)
    path = kwargs.pop("path", "/v1/chat/completions")
    before = (await token_row(gateway, user)).remain_quota

    response = await gateway.fetch(path, "POST", **kwargs)
    await gateway.settled()

    assert response.status == status
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and words in error["message"]
    if case is not user_exhausted:
        assert await gateway.quota_of(user) == START_USER
    assert (await token_row(gateway, user)).remain_quota == before
    assert await gateway.logs(user_id=user.id) == []
    assert upstream.requests == []


@pytest.mark.gen_test
@pytest.mark.parametrize("path,body,param", [
    ("/v1/chat/completions", {"messages": ["hi"]}, "messages[0]"),
    ("/v1/chat/completions", {"messages": [{"role": 5, "content": "hi"}]}, "messages[0].role"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ("/v1/chat/completions", {"messages": [{"role": "assistant", "content": None, "tool_calls": "x"}]},
     "messages[0].tool_calls"),
    ("/v1/chat/completions", {**CHAT, "tools": 1.5}, "tools"),
    ("/v1/chat/completions", {**CHAT, "stop": 100}, "stop"),
    ("/v1/chat/completions", {**CHAT, "response_format": [1]}, "response_format"),
    ("/v1/chat/completions", {**CHAT, "max_tokens": [1]}, "max_tokens"),
    ("/v1/chat/completions", {**CHAT, "temperature": True}, "temperature"),
    ("/v1/embeddings", {"input": 5}, "input"),
    ("/v1/messages", {"max_tokens": 16, "messages": [{"role": "user", "content": [{"type": "image", "source": 5}]}]},
     "messages[0].content[0].source"),
    ("/v1/messages", {"max_tokens": 16, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "content": [{"type": "text", "text": 5}]}]}]},
     "messages[0].content[0].content[0].text"),
    ("/v1/messages", {**CHAT, "max_tokens": 16, "system": [{"type": "text", "text": 5}]}, "system[0].text"),
    ("/v1/messages", {**CHAT, "max_tokens": 16, "stop_sequences": "x"}, "stop_sequences"),
])
async def test_fields_of_the_wrong_type_are_refused_before_anything(gateway, upstream, path, body, param):
    """What the providers' APIs refuse, refused here with the field named, before any charge or conversion
    (the Claude and Gemini conversions read these fields)."""
    user, key = await world(gateway, upstream)
    response = await gateway.fetch(path, "POST", key=key, json={"model": "gpt-4o-mini", **body})
    await gateway.settled()
    assert response.status == 400, response.body
    error = response.json["error"]
    assert param in error["message"] and error["type"] == "invalid_request_error"
    assert await gateway.quota_of(user) == START_USER and upstream.requests == []


def test_every_refusal_has_its_own_code():
    codes = [code for _, code, _ in CASES.values()]
    assert len(set(codes)) == len(codes) - 1     # invalid JSON and a non-object body share one


@pytest.mark.gen_test
@pytest.mark.parametrize("settings_overrides", [{"max_request_body_mb": 1}])
async def test_oversize_body_is_413(gateway, upstream):
    user, key = await world(gateway, upstream)
    padding = "x" * (1024 * 1024)
    body = ujson.dumps({**CHAT, "messages": [{"role": "user", "content": padding}]}).encode()

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, **raw(body))
    small = await gateway.fetch("/v1/chat/completions", "POST", key=key, json=CHAT)
    await gateway.settled()

    assert response.status == 413
    assert response.json["error"]["code"] == "request_too_large" and "1 MiB" in response.json["error"]["message"]
    assert small.status == 200
    assert len(upstream.requests) == 1


@pytest.mark.gen_test
async def test_stream_answered_with_json_is_an_error(gateway, upstream):
    user = await gateway.make_user(quota=START_USER)
    key = await gateway.make_token(user, remain_quota=START_TOKEN)
    await gateway.make_channel(upstream.url, key="key-jsonstream")

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, json={**CHAT, "stream": True})
    await gateway.settled()

    assert response.status == 502
    error = response.json["error"]
    assert error["code"] == "not_an_event_stream" and error["type"] == "upstream_error"
    assert "instead of an event stream" in error["message"]
    assert await gateway.quota_of(user) == START_USER
    assert (await token_row(gateway, user)).remain_quota == START_TOKEN
    assert await consume_log_entries(gateway, user) == []


@pytest.mark.gen_test
async def test_a_key_suffix_that_is_not_a_channel_number_picks_no_channel(gateway, upstream):
    user, key = await world(gateway, upstream)
    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT,
                                   headers={"Authorization": f"Bearer {key}-\u00b2"})   # "²": a digit int() refuses
    assert response.status == 200, response.body


@pytest.mark.gen_test
async def test_blocks_whose_fields_differ_by_type_are_not_refused(gateway, upstream):
    """A search result's `source` is a string, an image's an object: only the image's is checked."""
    user, key = await world(gateway, upstream)
    block = {"type": "search_result", "source": "https://example.com/a", "title": "A",
             "content": [{"type": "text", "text": "found"}]}
    body = {"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": [block]}]}
    response = await gateway.fetch("/v1/messages", "POST", key=key, json=body)
    assert response.status == 200, response.body
