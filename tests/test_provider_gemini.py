"""Gemini channels: OpenAI chat converted to generateContent / streamGenerateContent?alt=sse and back,
embeddings through batchEmbedContents, against a real local Gemini server, with the bills they make."""
import pytest
import ujson

from tests.provider_support import sse_events, start, user_and_key
from tests.upstreams.gemini_mock import CALL_ARGS, THOUGHT, WORDS, GeminiState, make_gemini_app

HARM_CATEGORIES = ["HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                   "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY"]
MODEL = "gemini-2.5-pro"     # ratio 0.625, completion 8
BILL = 119                   # (prompt 30 + (12 candidates + 8 thoughts) × 8) × 0.625 = 118.75
MODELS = f"{MODEL},gemini-pro,text-embedding-004"
TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {
    "type": "object", "additionalProperties": False, "title": "Args",
    "properties": {"city": {"type": "string", "default": "Rome", "format": "city-name"},
                   "when": {"anyOf": [{"type": "string", "format": "date-time", "title": "At"}]}}}}},
         {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture
def gemini(io_loop):
    state = GeminiState()
    state.url, stop = start(io_loop, make_gemini_app(state))
    yield state
    stop()


async def setup(gateway, gemini, key="gemini-ok", **fields):
    user, token = await user_and_key(gateway)
    await gateway.make_channel(gemini.url, key=key, type=24, models=MODELS, **fields)
    return user, token


async def assert_billed(gateway, user, quota=BILL, prompt=30, completion=20):
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000 - quota
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["quota"], entry["prompt_tokens"], entry["completion_tokens"]) == (quota, prompt, completion)


@pytest.mark.gen_test
async def test_chat_is_converted_to_generate_content_and_back(gateway, gemini):
    user, key = await setup(gateway, gemini)
    chat = {"model": MODEL, "temperature": 0.3, "max_tokens": 200, "stop": ["END"], "seed": 7, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": '{"sky": "grey"}'},
        {"role": "user", "content": "Thanks"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key)

    assert response.status == 200, response.body
    answer = response.json
    assert answer["model"] == MODEL and answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "".join(WORDS)}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["completion_tokens"] == 20
    assert answer["usage"]["completion_tokens_details"]["reasoning_tokens"] == 8
    version, model, action, query, headers, sent = gemini.requests[0]
    assert (version, model, action, query) == ("v1beta", MODEL, "generateContent", "")
    assert headers["X-Goog-Api-Key"] == "gemini-ok"
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["safetySettings"] == [{"category": c, "threshold": "BLOCK_NONE"} for c in HARM_CATEGORIES]
    assert sent["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 200, "stopSequences": ["END"],
                                        "seed": 7}
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}
    assert sent["contents"][1]["parts"] == [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}}}]
    assert sent["contents"][2]["parts"] == [
        {"functionResponse": {"name": "weather", "response": {"name": "weather", "content": {"sky": "grey"}}}},
        {"text": "Thanks"}]
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_tools_are_declared_with_clean_schemas_and_calls_come_back(gateway, gemini):
    user, key = await setup(gateway, gemini, key="gemini-think")
    chat = {"model": MODEL, "tools": TOOLS, "tool_choice": "required",
            "messages": [{"role": "user", "content": "Weather?"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key)

    assert response.status == 200, response.body
    choice = response.json["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["reasoning_content"] == THOUGHT
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "weather" and ujson.loads(call["function"]["arguments"]) == CALL_ARGS
    sent = gemini.requests[0][5]
    weather, now = sent["tools"][0]["functionDeclarations"]
    assert weather["parameters"] == {"type": "object", "properties": {
        "city": {"type": "string"}, "when": {"anyOf": [{"type": "string", "format": "date-time"}]}}}
    assert "parameters" not in now      # Gemini refuses an object without properties
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_json_schema_response_format_is_cleaned(gateway, gemini):
    user, key = await setup(gateway, gemini)
    schema = {"type": "object", "title": "Answer", "additionalProperties": False,
              "properties": {"answer": {"type": "integer", "title": "A"}}, "required": ["answer"]}
    chat = {"model": MODEL, "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
            "messages": [{"role": "user", "content": "6×7?"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key)

    assert ujson.loads(response.json["choices"][0]["message"]["content"]) == {"answer": 42}
    config = gemini.requests[0][5]["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseSchema": {
        "type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}}
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_is_converted_chunk_by_chunk(gateway, gemini):
    user, key = await setup(gateway, gemini, key="gemini-think", config={"api_version": "v1"})
    chunks = []
    chat = {"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Hi"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    version, _, action, query, _, _ = gemini.requests[0]
    assert (version, action, query) == ("v1", "streamGenerateContent", "alt=sse")
    events = sse_events(chunks)
    assert events[-1] == "[DONE]"
    deltas = [e["choices"][0]["delta"] for e in events[:-2]]
    assert deltas[0]["role"] == "assistant" and deltas[0]["reasoning_content"] == THOUGHT
    assert [d.get("content") for d in deltas[1:]] == WORDS
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert events[-2]["choices"] == [] and events[-2]["usage"]["completion_tokens"] == 20
    await assert_billed(gateway, user)


@pytest.mark.gen_test
@pytest.mark.parametrize("settings_overrides", [{"gemini_safety_setting": "BLOCK_ONLY_HIGH"}])
async def test_safety_threshold_setting_goes_with_every_stream_request(gateway, gemini, settings_overrides):
    user, key = await setup(gateway, gemini)
    chunks = []
    chat = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200 and sse_events(chunks)[-1] == "[DONE]"
    sent = gemini.requests[0][5]
    assert sent["safetySettings"] == [{"category": c, "threshold": "BLOCK_ONLY_HIGH"} for c in HARM_CATEGORIES]
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_tool_call_and_safety_finish(gateway, gemini):
    user, key = await setup(gateway, gemini, key="gemini-safety")
    chunks = []
    chat = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key,
                                   streaming_callback=chunks.append)

    events = sse_events(chunks)
    assert response.status == 200 and events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert not any("usage" in e for e in events[:-1])
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_stream_tool_call(gateway, gemini):
    user, key = await setup(gateway, gemini)
    chunks = []
    chat = {"model": MODEL, "stream": True, "tools": TOOLS[:1], "messages": [{"role": "user", "content": "Hi"}]}

    await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key, streaming_callback=chunks.append)

    [first, done] = sse_events(chunks)
    assert done == "[DONE]"
    [call] = first["choices"][0]["delta"]["tool_calls"]
    assert call["index"] == 0 and ujson.loads(call["function"]["arguments"]) == CALL_ARGS
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_gemini_pro_gets_its_system_text_as_a_first_turn(gateway, gemini):
    user, key = await setup(gateway, gemini)
    chat = {"model": "gemini-pro", "messages": [{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": "Hi"}]}

    response = await gateway.fetch("/v1/chat/completions", "POST", json=chat, key=key)

    assert response.status == 200
    sent = gemini.requests[0][5]
    assert "systemInstruction" not in sent
    assert sent["contents"][:2] == [{"role": "user", "parts": [{"text": "Be brief."}]},
                                    {"role": "model", "parts": [{"text": "Okay"}]}]
    await assert_billed(gateway, user, quota=23)    # (30 + 20 × 3) × 0.25 = 22.5, rounded half up


@pytest.mark.gen_test
async def test_embeddings(gateway, gemini):
    user, key = await setup(gateway, gemini)

    response = await gateway.fetch("/v1/embeddings", "POST", key=key, json={
        "model": "text-embedding-004", "input": ["one two", "three"], "dimensions": 2})

    assert response.status == 200, response.body
    assert [d["embedding"] for d in response.json["data"]] == [[0.5, 0.0], [0.5, 1.0]]
    version, model, action, _, _, sent = gemini.requests[0]
    assert (model, action) == ("text-embedding-004", "batchEmbedContents")
    assert sent["requests"][1] == {"model": "models/text-embedding-004", "content": {"parts": [{"text": "three"}]},
                                   "outputDimensionality": 2}
    assert "safetySettings" not in sent
    prompt = gateway.services.tokenizer.count_input("text-embedding-004", ["one two", "three"])
    # Gemini reports no usage for embeddings: the client gets the count the bill is made from
    assert prompt > 0 and response.json["usage"] == {"prompt_tokens": prompt, "total_tokens": prompt}
    await gateway.settled()
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["prompt_tokens"] == prompt and entry["quota"] == 1   # 3 tokens × 0.01, at least 1


@pytest.mark.gen_test
async def test_errors_and_empty_answers_are_refunded(gateway, gemini):
    user, key = await setup(gateway, gemini, key="gemini-blocked")
    dead_user, dead_key = await user_and_key(gateway, quota=5_000_000, username="bob")
    await gateway.make_channel(gemini.url, key="gemini-dead", type=24, models="gemini-1.5-pro")

    blocked = await gateway.fetch("/v1/chat/completions", "POST", key=key,
                                  json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    dead = await gateway.fetch("/v1/chat/completions", "POST", key=dead_key,
                               json={"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "x"}]})

    assert blocked.status == 500 and "SAFETY" in blocked.json["error"]["message"]
    assert dead.status in (400, 502) and set(dead.json["error"]) == {"message", "type", "param", "code"}
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000
    assert await gateway.quota_of(dead_user) == 5_000_000
