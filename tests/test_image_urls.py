"""Images given by web address in chat messages, against a real local web server of images: their sizes
are read (within MAX_FILE_DOWNLOAD_MB and USER_CONTENT_REQUEST_TIMEOUT) to bill them as OpenAI does, with
the default size when they cannot be read; Gemini channels get them downloaded and inline; Claude channels
get the address (Anthropic fetches it)."""
import base64
import time

import pytest

from services.user_content import ContentUnavailable, UserContent
from tests.provider_support import start, user_and_key
from tests.upstreams.anthropic_mock import AnthropicState, make_anthropic_app
from tests.upstreams.gemini_mock import GeminiState, make_gemini_app
from tests.upstreams.image_server import ImageState, images, make_image_app

QUESTION = {"type": "text", "text": "What is in these pictures?"}
HIGH_1600x1000 = 6 * 170 + 85    # → 1229×768: 3×2 tiles
AUTO_640x480 = 2 * 170 + 85      # 2×1 tiles
LOW = 85
DEFAULT = 765                    # an image whose size cannot be read counts as 1024×1024


@pytest.fixture
def settings_overrides():
    # The image server of these tests runs on loopback, which a gateway refuses by default.
    return {"max_file_download_mb": 1, "user_content_request_timeout": 1, "user_content_allow_private": True}


@pytest.fixture
def pictures(io_loop):
    state = ImageState()
    state.url, stop = start(io_loop, make_image_app(state))
    yield state
    state.release.set()
    stop()


@pytest.fixture
def gemini(io_loop):
    state = GeminiState()
    state.url, stop = start(io_loop, make_gemini_app(state))
    yield state
    stop()


@pytest.fixture
def claude(io_loop):
    state = AnthropicState()
    state.url, stop = start(io_loop, make_anthropic_app(state))
    yield state
    stop()


def image(url, detail=None):
    return {"type": "image_url", "image_url": {"url": url, **({"detail": detail} if detail else {})}}


def chat(model, *parts):
    return {"model": model, "messages": [{"role": "user", "content": [QUESTION, *parts]}]}


async def prompt_tokens_billed(gateway, user):
    [entry] = await gateway.logs(user_id=user.id)
    text_only = gateway.services.tokenizer.count_messages("gpt-4o", [{"role": "user", "content": [QUESTION]}])
    return entry["prompt_tokens"] - text_only


@pytest.mark.gen_test
async def test_web_images_are_billed_by_their_real_size(gateway, upstream, pictures):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key="key-nousage", models="gpt-4o")
    body = chat("gpt-4o", image(f"{pictures.url}/photo.png", "high"), image(f"{pictures.url}/photo.jpg"),
                image(f"{pictures.url}/low.png", "low"))

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, json=body)

    assert response.status == 200, response.body
    assert await prompt_tokens_billed(gateway, user) == HIGH_1600x1000 + AUTO_640x480 + LOW
    assert sorted(pictures.paths) == ["/photo.jpg", "/photo.png"]     # a low-detail image needs no size
    assert upstream.requests[0][2]["messages"] == body["messages"]     # relayed untouched


@pytest.mark.gen_test
async def test_images_too_large_slow_or_missing_count_at_the_default_size(gateway, upstream, pictures):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key="key-nousage", models="gpt-4o")
    # huge.png is 1600×1000 too (it would cost 1105), but it is larger than MAX_FILE_DOWNLOAD_MB;
    # slow.png never sends its size and never ends: only the time limit ends its download.
    body = chat("gpt-4o", *(image(f"{pictures.url}/{name}") for name in ("huge.png", "slow.png", "gone.png")))
    began = time.monotonic()

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, json=body)

    took = time.monotonic() - began
    assert response.status == 200, response.body
    assert 0.9 <= took < 4, took
    assert sorted(pictures.paths) == ["/gone.png", "/huge.png", "/slow.png"]
    assert await prompt_tokens_billed(gateway, user) == 3 * DEFAULT


@pytest.mark.gen_test
async def test_gemini_gets_web_images_downloaded_and_inline(gateway, gemini, pictures):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(gemini.url, key="gemini-ok", type=24, models="gemini-2.5-pro")
    body = chat("gemini-2.5-pro", image(f"{pictures.url}/photo.png"), image(f"{pictures.url}/photo.jpg", "low"))

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, json=body)

    assert response.status == 200, response.body
    assert sorted(pictures.paths) == ["/photo.jpg", "/photo.png"]     # each fetched once, sized and sent
    parts = gemini.requests[0][5]["contents"][0]["parts"]
    assert parts[0] == {"text": QUESTION["text"]}
    for part, name in zip(parts[1:], ("photo.png", "photo.jpg")):
        data, mime = images()[name]
        assert part == {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000 - 119     # billed from Gemini's usageMetadata


@pytest.mark.gen_test
@pytest.mark.parametrize("name,reason", [("huge-chunked.png", "larger than 1 MiB"),
                                         ("slow.png", "longer than 1 s"), ("gone.png", "answered 404")])
async def test_gemini_refuses_images_it_cannot_have(gateway, gemini, pictures, name, reason):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(gemini.url, key="gemini-ok", type=24, models="gemini-2.5-pro")
    began = time.monotonic()

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key,
                                   json=chat("gemini-2.5-pro", image(f"{pictures.url}/{name}")))

    assert time.monotonic() - began < 4
    assert response.status == 400, response.body
    assert response.json["error"]["code"] == "image_download_failed"
    assert reason in response.json["error"]["message"]
    assert gemini.requests == []
    await gateway.settled()
    assert await gateway.quota_of(user) == 10_000_000


@pytest.mark.gen_test
async def test_claude_gets_the_image_address(gateway, claude, pictures):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(claude.url, key="claude-ok", type=14, models="claude-3-opus-20240229")
    url = f"{pictures.url}/photo.png"

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key,
                                   json=chat("claude-3-opus-20240229", image(url)))

    assert response.status == 200, response.body
    [(_, sent)] = claude.requests
    assert sent["messages"][0]["content"][1] == {"type": "image", "source": {"type": "url", "url": url}}


@pytest.mark.gen_test
async def test_images_on_private_addresses_are_not_fetched_by_default(gateway, pictures):
    guarded = UserContent(gateway.services.upstream, 1 << 20, 5, allow_private=False)
    for url in (f"{pictures.url}/photo.png", "http://10.1.2.3/x.png", "http://[::1]/x.png",
                "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(ContentUnavailable, match="not a public one"):
            await guarded.download(url)
    assert pictures.paths == []          # nothing was asked of the (loopback) image server
