"""POST /v1/messages for Claude clients: key in x-api-key or Authorization, relayed as is to Claude
channels, billed from Anthropic's usage; errors in Anthropic's shape."""
import base64
import io
import json

import pytest
from PIL import Image

from services.claude_native import parse_messages_call

from tests.provider_support import sse_events, start, user_and_key
from tests.upstreams.anthropic_mock import WORDS, AnthropicState, make_anthropic_app

MODEL = "claude-3-opus-20240229"
BILL = 1031    # see test_provider_claude: (20 + 100×0.1 + 50×1.25 + 9×5) × 7.5
REQUEST = {"model": MODEL, "max_tokens": 100, "system": [{"type": "text", "text": "Be brief."}],
           "messages": [{"role": "user", "content": "Hello"}], "metadata": {"user_id": "u1"}}


@pytest.fixture
def claude(io_loop):
    state = AnthropicState()
    state.url, stop = start(io_loop, make_anthropic_app(state))
    yield state
    stop()


async def setup(gateway, claude, key="claude-ok"):
    user, token = await user_and_key(gateway)
    await gateway.make_channel(claude.url, key=key, type=14, models=MODEL)
    return user, token


async def assert_billed(gateway, user, quota=BILL):
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000 - quota
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["quota"], entry["prompt_tokens"], entry["completion_tokens"]) == (quota, 170, 9)


@pytest.mark.gen_test
async def test_messages_with_x_api_key_are_relayed_as_is(gateway, claude):
    user, key = await setup(gateway, claude)

    response = await gateway.fetch("/v1/messages", "POST", json=REQUEST,
                                   headers={"x-api-key": key, "anthropic-version": "2023-06-01",
                                            "anthropic-beta": "prompt-caching-2024-07-31"})

    assert response.status == 200, response.body
    assert response.json["type"] == "message"
    assert response.json["content"] == [{"type": "text", "text": "".join(WORDS)}]
    assert response.json["usage"]["cache_read_input_tokens"] == 100
    headers, sent = claude.requests[0]
    assert sent == REQUEST
    assert headers["X-Api-Key"] == "claude-ok" and headers["Anthropic-Beta"] == "prompt-caching-2024-07-31"
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_messages_stream_passes_anthropic_events_through(gateway, claude):
    user, key = await setup(gateway, claude)
    chunks = []

    response = await gateway.fetch("/v1/messages", "POST", json={**REQUEST, "stream": True}, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    text = b"".join(chunks).decode()
    assert text.startswith("event: message_start\n")
    events = sse_events(chunks)
    assert [e["type"] for e in events][-2:] == ["message_delta", "message_stop"]
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == "".join(WORDS)
    await assert_billed(gateway, user)


@pytest.mark.gen_test
async def test_errors_come_in_anthropic_shape(gateway, claude):
    user, key = await setup(gateway, claude, key="claude-busy")

    missing = await gateway.fetch("/v1/messages", "POST", json=REQUEST)
    no_max = await gateway.fetch("/v1/messages", "POST", json={**REQUEST, "max_tokens": None}, key=key)
    busy = await gateway.fetch("/v1/messages", "POST", json=REQUEST, key=key)

    assert missing.status == 401 and missing.json["type"] == "error"
    assert missing.json["error"]["type"] == "authentication_error"
    assert no_max.status == 400 and no_max.json["error"]["type"] == "invalid_request_error"
    assert busy.status == 529 and busy.json["error"] == {"type": "overloaded_error",
                                                         "message": busy.json["error"]["message"]}
    assert busy.json["error"]["message"].startswith("Overloaded")
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000


def png_base64(width, height) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


@pytest.mark.gen_test
async def test_images_count_in_the_prompt_estimate_as_anthropic_sizes_them(gateway):
    def estimate(*blocks):
        body = {**REQUEST, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}, *blocks]}]}
        call = parse_messages_call(json.dumps(body).encode(), {}, None, "request-id", "127.0.0.1")
        return call.count_prompt(gateway.services.tokenizer)

    def image(width, height):
        return {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                            "data": png_base64(width, height)}}

    text_only = estimate()
    assert estimate(image(1000, 750)) - text_only == 1000                 # 1000 × 750 / 750
    assert estimate(image(1568, 400)) - text_only == 837                  # ceil(1568 × 400 / 750)
    assert estimate(image(3136, 800)) - text_only == 837                  # fitted into 1568 px first
    assert estimate(image(3136, 1568)) - text_only == 1600                # at most about 1,600
    by_address = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    in_a_tool_result = {"type": "tool_result", "tool_use_id": "t1", "content": [image(1000, 750)]}
    assert estimate(by_address, in_a_tool_result) - text_only == 1600 + 1000
