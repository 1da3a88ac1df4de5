"""Claude channels: OpenAI chat converted to Anthropic Messages and back (text, tools, thinking, stop
reasons, usage with cache tokens), stream and non-stream, against a real local Anthropic server."""
import pytest
import ujson

from tests.provider_support import sse_events, start, user_and_key
from tests.upstreams.anthropic_mock import THOUGHT, TOOL_INPUT, WORDS, AnthropicState, make_anthropic_app

MODEL = "claude-3-opus-20240229"   # ratio 7.5, completion 5; claude-* cache read 0.1, creation 1.25
# (input 20 + cache read 100 × 0.1 + cache creation 50 × 1.25 + output 9 × 5) × 7.5 = 1031.25
BILL = 1031
TOOLS = [{"type": "function", "function": {"name": "weather", "description": "Weather in a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture
def claude(io_loop):
    state = AnthropicState()
    state.url, stop = start(io_loop, make_anthropic_app(state))
    yield state
    stop()


async def setup(gateway, claude, key="claude-ok", **fields):
    user, token = await user_and_key(gateway)
    await gateway.make_channel(claude.url, key=key, type=14, models=f"{MODEL},claude-3-7-sonnet-20250219", **fields)
    return user, token


async def assert_billed(gateway, user, quota=BILL):
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000 - quota
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["quota"], entry["prompt_tokens"], entry["completion_tokens"]) == (quota, 170, 9)


@pytest.mark.gen_test
async def test_chat_is_converted_to_messages_and_back(gateway, claude):
    user, key = await setup(gateway, claude)
    chat = {"model": MODEL, "temperature": 1.5, "stop": "END", "max_tokens": 300, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        {"role": "user", "content": "Thanks"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key)

    assert response.status == 200, response.body
    answer = response.json
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "".join(WORDS)}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["prompt_tokens"] == 170 and answer["usage"]["completion_tokens"] == 9
    assert answer["usage"]["prompt_tokens_details"]["cached_tokens"] == 100
    headers, sent = claude.requests[0]
    assert headers["X-Api-Key"] == "claude-ok" and headers["Anthropic-Version"] == "2023-06-01"
    assert sent["system"] == "Be brief." and sent["max_tokens"] == 300
    assert sent["temperature"] == 1 and sent["stop_sequences"] == ["END"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert sent["messages"][0]["content"] == [{"type": "text", "text": "..."}]
    assert sent["messages"][2]["content"][1] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}}
    assert sent["messages"][3]["content"] == [{"type": "tool_use", "id": "call_1", "name": "weather",
                                               "input": {"city": "Rome"}}]
    # the tool answer and the next user message share one user turn
    assert sent["messages"][4]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "Sunny"}, {"type": "text", "text": "Thanks"}]
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_tool_calls_and_thinking_come_back_in_openai_shape(gateway, claude):
    user, key = await setup(gateway, claude,
                            model_mapping={MODEL: "claude-3-7-sonnet-20250219-thinking"})
    chat = {"model": MODEL, "max_tokens": 1000, "top_p": 0.5, "tools": TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
            "messages": [{"role": "user", "content": "Weather in Paris?"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key)

    assert response.status == 200, response.body
    choice = response.json["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["reasoning_content"] == THOUGHT
    [call] = choice["message"]["tool_calls"]
    assert call["id"] == "toolu_1" and call["type"] == "function" and call["function"]["name"] == "weather"
    assert ujson.loads(call["function"]["arguments"]) == TOOL_INPUT
    _, sent = claude.requests[0]
    assert sent["model"] == "claude-3-7-sonnet-20250219"
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024} and sent["max_tokens"] == 1280
    assert sent["temperature"] == 1 and "top_p" not in sent
    assert sent["tools"] == [{"name": "weather", "description": "Weather in a city",
                              "input_schema": TOOLS[0]["function"]["parameters"]}]
    assert sent["tool_choice"] == {"type": "tool", "name": "weather"}
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_is_converted_event_by_event_and_billed_with_cache(gateway, claude):
    user, key = await setup(gateway, claude)
    chunks = []
    chat = {"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Hello"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    events = sse_events(chunks)
    assert events[-1] == "[DONE]"
    assert all(e["object"] == "chat.completion.chunk" and e["id"] == "msg_1" for e in events[:-1])
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    words = [e["choices"][0]["delta"].get("content") for e in events[1:-3]]
    assert words == WORDS
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    usage = events[-2]["usage"]
    assert events[-2]["choices"] == [] and (usage["prompt_tokens"], usage["completion_tokens"]) == (170, 9)
    assert claude.requests[0][1]["stream"] is True
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_tool_calls_and_thinking(gateway, claude):
    user, key = await setup(gateway, claude,
                            model_mapping={MODEL: "claude-3-7-sonnet-20250219-thinking"})
    chunks = []
    chat = {"model": MODEL, "stream": True, "tools": TOOLS, "messages": [{"role": "user", "content": "Paris?"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    deltas = [e["choices"][0]["delta"] for e in sse_events(chunks)[:-1] if e["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == THOUGHT
    calls = [c for d in deltas for c in d.get("tool_calls", ())]
    assert calls[0]["id"] == "toolu_1" and calls[0]["function"]["name"] == "weather"
    assert ujson.loads("".join(c["function"]["arguments"] for c in calls)) == TOOL_INPUT
    assert {c["index"] for c in calls} == {0}
    finish = [e["choices"][0]["finish_reason"] for e in sse_events(chunks)[:-1] if e["choices"]]
    assert finish[-1] == "tool_calls"
    assert not any("usage" in e for e in sse_events(chunks)[:-1])   # the client did not ask for it
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_upstream_error_becomes_one_openai_error_and_nothing_is_charged(gateway, claude):
    user, key = await setup(gateway, claude, key="claude-busy")

    response = await gateway.fetch("/v1/chat/completions", "POST",
                                   json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, key=key)

    assert response.status == 529
    assert response.json["error"]["message"].startswith("Overloaded")
    assert response.json["error"]["type"] == "overloaded_error"
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000


@pytest.mark.gen_test
async def test_error_event_mid_stream_ends_the_stream_and_bills_what_was_produced(gateway, claude):
    user, key = await setup(gateway, claude, key="claude-midfail")
    chunks = []
    messages = [{"role": "user", "content": "Hello"}]

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, streaming_callback=chunks.append,
                                   json={"model": MODEL, "stream": True, "messages": messages})

    assert response.status == 200
    events = sse_events(chunks)
    assert events[1]["choices"][0]["delta"] == {"content": WORDS[0]}
    assert events[-1]["error"]["type"] == "overloaded_error" and "[DONE]" not in events
    await gateway.settled()
    tokenizer = gateway.services.tokenizer
    prompt, completion = tokenizer.count_messages(MODEL, messages), tokenizer.count_text(MODEL, WORDS[0])
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (prompt, completion)
    assert 10_000_000 - await gateway.quota_of(user) == entry["quota"] > 0
