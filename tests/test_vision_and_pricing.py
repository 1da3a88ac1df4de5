"""Image parts and tool calls counted into the prompt; reasoning relayed and billed; fixed per-call
prices with wildcards; unknown models refused unless DefaultModelRatio is set; upstream error bodies
of any common shape answered as one OpenAI error with the upstream's status."""
import base64
import struct
import zlib

import pytest
import ujson
from tornado.web import Application, RequestHandler

from services.vision import image_size, image_tokens
from tests.provider_support import sse_events, start, user_and_key


def png_header(width, height) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def data_url(data: bytes, mime="image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def jpeg_header(width, height) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\x00" * 16


def test_image_sizes_are_read_from_headers():
    assert image_size(png_header(640, 480)) == (640, 480)
    assert image_size(jpeg_header(1920, 1080)) == (1920, 1080)
    assert image_size(b"GIF89a" + struct.pack("<HH", 30, 20)) == (30, 20)
    assert image_size(b"not an image") is None


@pytest.mark.parametrize("size,detail,model,tokens", [
    ((2048, 4096), "high", "gpt-4o", 6 * 170 + 85),       # → 1024×2048 → 768×1536: 2×3 tiles
    ((512, 512), "auto", "gpt-4o", 170 + 85),
    ((4000, 4000), "low", "gpt-4o", 85),
    ((1920, 1080), "high", "gpt-4o-mini", 6 * 5667 + 2833),   # → 1365×768: 3×2 tiles
])
def test_image_tokens_follow_openai_tiles(size, detail, model, tokens):
    image = {"url": data_url(png_header(*size)), "detail": detail}
    assert image_tokens(model, image) == tokens


def test_url_images_and_tool_calls_are_counted(gateway):
    tokenizer = gateway.services.tokenizer
    plain = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    with_image = [{"role": "user", "content": [{"type": "text", "text": "hi"},
                                               {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    call = [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}}]
    assert tokenizer.count_messages("gpt-4o", with_image) - tokenizer.count_messages("gpt-4o", plain) == 765
    assert tokenizer.count_messages("gpt-4o", [{"role": "assistant", "tool_calls": call}]) > \
        tokenizer.count_messages("gpt-4o", [{"role": "assistant"}]) + 10


class ReasoningUpstream(RequestHandler):
    """An OpenAI-format upstream of a reasoning model, or one failing with a given error body."""

    def initialize(self, state):
        self.state = state

    async def post(self):
        body = ujson.loads(self.request.body)
        self.state.append(body)
        key = self.request.headers["Authorization"].removeprefix("Bearer ")
        if key.startswith("fail-"):
            status, payload = FAILURE_BODIES[key]
            self.set_status(status)
            return self.finish(payload)
        usage = {"prompt_tokens": 10, "completion_tokens": 40, "total_tokens": 50,
                 "completion_tokens_details": {"reasoning_tokens": 30}}
        if not body.get("stream"):
            return self.finish({"id": "r1", "object": "chat.completion", "model": body["model"], "usage": usage,
                                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                    "role": "assistant", "content": "42", "reasoning_content": "six times seven"}}]})
        self.set_header("Content-Type", "text/event-stream")
        for delta in ({"reasoning_content": "six times seven"}, {"content": "42"}):
            self.write(b"data: " + ujson.dumps({"id": "r1", "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": delta, "finish_reason": None}]}).encode() + b"\n\n")
        self.write(b"data: " + ujson.dumps({"id": "r1", "choices": [], "usage": usage}).encode() + b"\n\ndata: [DONE]\n\n")
        self.finish()


FAILURE_BODIES = {
    "fail-msg": (503, {"code": 1, "msg": "engine overloaded"}),
    "fail-errmsg": (429, {"error_msg": "rate limited upstream"}),
    "fail-header": (502, {"header": {"code": 10, "message": "header says no"}}),
    "fail-text": (500, "plain text failure"),
}


@pytest.fixture
def reasoning(io_loop):
    seen = []
    url, stop = start(io_loop, Application([(r"/v1/chat/completions", ReasoningUpstream, {"state": seen})]))
    yield url, seen
    stop()


@pytest.mark.gen_test
@pytest.mark.parametrize("stream", [False, True])
async def test_reasoning_content_is_relayed_and_reasoning_tokens_billed(gateway, reasoning, stream):
    url, _ = reasoning
    user, key = await user_and_key(gateway)
    await gateway.make_channel(url, models="deepseek-reasoner")
    chunks = []

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, streaming_callback=chunks.append if stream else None,
                                   json={"model": "deepseek-reasoner", "stream": stream,
                                         "messages": [{"role": "user", "content": "6×7?"}]})

    assert response.status == 200
    if stream:
        deltas = [e["choices"][0]["delta"] for e in sse_events(chunks)[:-1]]
        assert deltas[0] == {"reasoning_content": "six times seven"}
    else:
        assert response.json["choices"][0]["message"]["reasoning_content"] == "six times seven"
    await gateway.settled()
    # (10 + 40 × 4) × 0.275 = 46.75: the 30 reasoning tokens are billed as completion
    assert 10_000_000 - await gateway.quota_of(user) == 47


@pytest.mark.gen_test
async def test_wildcard_fixed_price_and_default_model_ratio(gateway, upstream):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, models="gpt-4-gizmo-g-abc,my-own-model")
    chat = {"messages": [{"role": "user", "content": "hi"}]}

    gizmo = await gateway.fetch("/v1/chat/completions", "POST", key=key, json={**chat, "model": "gpt-4-gizmo-g-abc"})
    await gateway.settled()
    after_gizmo = await gateway.quota_of(user)
    refused = await gateway.fetch("/v1/chat/completions", "POST", key=key, json={**chat, "model": "my-own-model"})
    await gateway.services.options.set("DefaultModelRatio", "2")
    allowed = await gateway.fetch("/v1/chat/completions", "POST", key=key, json={**chat, "model": "my-own-model"})
    await gateway.settled()

    assert gizmo.status == 200 and after_gizmo == 10_000_000 - 50_000      # $0.1 per call
    assert refused.status == 400 and refused.json["error"]["code"] == "model_price_not_set"
    assert allowed.status == 200
    assert after_gizmo - await gateway.quota_of(user) == (11 + 7) * 2     # mock usage 11 + 7, ratio 2


@pytest.mark.gen_test
@pytest.mark.parametrize("key,status,message", [
    ("fail-msg", 503, "engine overloaded"),
    ("fail-errmsg", 429, "rate limited upstream"),
    ("fail-header", 502, "header says no"),
    ("fail-text", 500, "plain text failure"),
])
async def test_upstream_error_shapes_become_one_openai_error(gateway, reasoning, key, status, message):
    url, _ = reasoning
    user, token = await user_and_key(gateway)
    await gateway.make_channel(url, key=key, models="deepseek-reasoner")

    response = await gateway.fetch("/v1/chat/completions", "POST", key=token,
                                   json={"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "x"}]})

    assert response.status == status
    assert set(response.json["error"]) == {"message", "type", "param", "code"}
    assert message in response.json["error"]["message"]
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000


@pytest.mark.gen_test
async def test_image_parts_are_billed_when_the_upstream_reports_no_usage(gateway, upstream):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key="key-nousage", models="gpt-4o")
    text_only = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}]
    image = {"type": "image_url", "image_url": {"url": data_url(png_header(2048, 4096)), "detail": "high"}}

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": text_only[0]["content"] + [image]}]})

    assert response.status == 200
    await gateway.settled()
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["prompt_tokens"] == gateway.services.tokenizer.count_messages("gpt-4o", text_only) + 1105
