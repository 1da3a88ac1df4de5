"""POST /v1/messages for a model served by OpenAI-compatible channels: the Anthropic request converted
to a chat completion and the answer back, whole and as Anthropic's SSE events, tools included, billed
like chat, against the real local OpenAI-compatible mock."""
import asyncio

import pytest
import ujson

from tests.provider_support import start, user_and_key
from tests.upstreams.azure_mock import make_azure_app
from tests.upstreams.gemini_mock import GeminiState, make_gemini_app
from tests.upstreams.openai_mock import COMPLETION_TOKENS, PROMPT_TOKENS, REPLY_WORDS, TOOL_ARGUMENTS, MockState

MODEL = "claude-3-opus-20240229"    # ratio 7.5, completion ratio 5
BILL = 345                          # (11 + 7 × 5) × 7.5
REQUEST = {"model": MODEL, "max_tokens": 100, "temperature": 0.2, "stop_sequences": ["END"],
           "system": [{"type": "text", "text": "Be brief."}], "metadata": {"user_id": "u1"},
           "messages": [{"role": "user", "content": "Hello"}]}
TOOLS = [{"name": "weather", "description": "Weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
CONVERSATION = [
    {"role": "user", "content": [{"type": "text", "text": "Weather in Porto?"},
                                 {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                              "data": "iVBORw0K"}}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
                                      {"type": "tool_use", "id": "toolu_1", "name": "weather",
                                       "input": {"city": "Porto"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                                 {"type": "text", "text": "And in Lisbon?"}]}]


async def setup(gateway, upstream, key="key-ok", **fields):
    user, token = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key=key, models=MODEL, **fields)
    return user, token


async def assert_billed(gateway, user, quota=BILL, completion=COMPLETION_TOKENS):
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000 - quota
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["model_name"], entry["quota"]) == (MODEL, quota)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (PROMPT_TOKENS, completion)


def anthropic_events(chunks) -> list:
    """(event name, payload) of every event, checking that each name matches its payload's type."""
    named = []
    for block in b"".join(chunks).decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        payload = ujson.loads(lines["data"])
        assert lines["event"] == payload["type"]
        named.append(payload)
    return named


@pytest.mark.gen_test
async def test_messages_become_a_chat_completion_and_come_back(gateway, upstream):
    user, key = await setup(gateway, upstream, model_mapping={MODEL: "gpt-4o"})

    response = await gateway.fetch("/v1/messages", "POST", json=REQUEST, headers={"x-api-key": key})

    assert response.status == 200, response.body
    assert response.json == {"id": "msg_mock", "type": "message", "role": "assistant", "model": MODEL,
                             "content": [{"type": "text", "text": "".join(REPLY_WORDS)}], "stop_reason": "end_turn",
                             "stop_sequence": None, "usage": {"input_tokens": PROMPT_TOKENS,
                                                              "output_tokens": COMPLETION_TOKENS}}
    path, _, sent = upstream.requests[0]
    assert path == "/v1/chat/completions"
    assert sent == {"model": "gpt-4o", "max_tokens": 100, "temperature": 0.2, "stop": ["END"], "user": "u1",
                    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]}
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_tool_use_and_tool_result_are_converted_both_ways(gateway, upstream):
    user, key = await setup(gateway, upstream)
    body = {"model": MODEL, "max_tokens": 200, "tools": TOOLS, "messages": CONVERSATION,
            "tool_choice": {"type": "tool", "name": "weather", "disable_parallel_tool_use": True}}

    response = await gateway.fetch("/v1/messages", "POST", json=body, key=key)

    assert response.status == 200, response.body
    assert response.json["stop_reason"] == "tool_use"
    assert response.json["content"] == [{"type": "tool_use", "id": "call_mock", "name": "weather",
                                         "input": ujson.loads(TOOL_ARGUMENTS)}]
    sent = upstream.requests[0][2]
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "weather", "description": "Weather in a city", "parameters": TOOLS[0]["input_schema"]}}]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Porto?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}]},
        {"role": "assistant", "content": "Let me look.", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Porto"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "user", "content": "And in Lisbon?"}]
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_comes_as_anthropic_events(gateway, upstream):
    user, key = await setup(gateway, upstream)
    chunks = []

    response = await gateway.fetch("/v1/messages", "POST", json={**REQUEST, "stream": True}, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = anthropic_events(chunks)
    assert [e["type"] for e in events] == (["message_start", "content_block_start"]
                                           + ["content_block_delta"] * len(REPLY_WORDS)
                                           + ["content_block_stop", "message_delta", "message_stop"])
    assert events[0]["message"]["role"] == "assistant" and events[0]["message"]["model"] == MODEL
    assert events[1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert "".join(e["delta"]["text"] for e in events[2:-3]) == "".join(REPLY_WORDS)
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    assert events[-2]["usage"] == {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS}
    assert upstream.requests[0][2]["stream_options"] == {"include_usage": True}
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_tool_call_comes_as_a_tool_use_block(gateway, upstream):
    user, key = await setup(gateway, upstream)
    chunks = []
    body = {"model": MODEL, "max_tokens": 200, "stream": True, "tools": TOOLS, "messages": CONVERSATION}

    await gateway.fetch("/v1/messages", "POST", json=body, key=key, streaming_callback=chunks.append)

    events = anthropic_events(chunks)
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "content_block_delta",
                                           "content_block_delta", "content_block_stop", "message_delta",
                                           "message_stop"]
    assert events[1]["content_block"] == {"type": "tool_use", "id": "call_mock", "name": "weather", "input": {}}
    assert "".join(e["delta"]["partial_json"] for e in events[2:4]) == TOOL_ARGUMENTS
    assert events[5]["delta"]["stop_reason"] == "tool_use"
    await assert_billed(gateway, user)


@pytest.mark.gen_test
@pytest.mark.parametrize("key,status,kind", [("key-400", 400, "invalid_request_error"), ("key-500", 500, "api_error")])
async def test_upstream_errors_come_in_anthropic_shape(gateway, upstream, key, status, kind):
    user, token = await setup(gateway, upstream, key=key)

    response = await gateway.fetch("/v1/messages", "POST", json=REQUEST, key=token)

    assert response.status == status
    assert set(response.json) == {"type", "error"} and response.json["type"] == "error"
    assert response.json["error"]["type"] == kind and response.json["error"]["message"]
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000


@pytest.mark.gen_test(timeout=20)
async def test_stream_broken_mid_way_ends_with_an_anthropic_error_event(gateway, upstream):
    user, key = await setup(gateway, upstream, key="key-drop")
    chunks, first_event = [], asyncio.Event()

    def on_chunk(chunk):
        chunks.append(chunk)
        first_event.set()

    call = asyncio.ensure_future(gateway.fetch("/v1/messages", "POST", json={**REQUEST, "stream": True}, key=key,
                                               streaming_callback=on_chunk))
    await first_event.wait()
    upstream.release.set()
    response = await call

    assert response.status == 200
    events = anthropic_events(chunks)
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"] == "api_error"
    assert "broke" in events[-1]["error"]["message"]
    assert "message_stop" not in [e["type"] for e in events]
    assert events[2]["delta"]["text"] == REPLY_WORDS[0]
    await gateway.settled()
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["completion_tokens"] == gateway.services.tokenizer.count_text(MODEL, REPLY_WORDS[0])


@pytest.fixture
def gemini(io_loop):
    state = GeminiState()
    state.url, stop = start(io_loop, make_gemini_app(state))
    yield state
    stop()


@pytest.mark.gen_test
async def test_channels_that_cannot_serve_messages_are_not_sent_them(gateway, gemini):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(gemini.url, key="gemini-ok", type=24, models=MODEL)

    response = await gateway.fetch("/v1/messages", "POST", json=REQUEST, key=key)

    assert response.status == 503 and response.json["type"] == "error"
    assert response.json["error"]["type"] == "api_error"
    assert gemini.requests == []
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000


@pytest.fixture
def azure(io_loop):
    state = MockState()
    state.url, stop = start(io_loop, make_azure_app(state))
    yield state
    stop()


@pytest.mark.gen_test
async def test_azure_channels_serve_messages_through_their_chat_deployment(gateway, azure):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(azure.url, type=3, models=MODEL, model_mapping={MODEL: "gpt-4.1"})

    response = await gateway.fetch("/v1/messages", "POST", json=REQUEST, key=key)

    assert response.status == 200, response.body
    assert response.json["content"] == [{"type": "text", "text": "".join(REPLY_WORDS)}]
    assert [d for d, _ in azure.deployments] == ["gpt-41"]
    assert azure.requests[0][0].endswith("/gpt-41/chat/completions")
    await assert_billed(gateway, user)
