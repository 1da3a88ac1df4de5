"""Images, speech, transcriptions, moderations, one model, and the 501 routes, against a real local
OpenAI-format server, with the bills they produce."""
import io
import struct
import uuid
import wave

import pytest

from services.media_billing import audio_seconds, reported_seconds
from services.webm_duration import webm_seconds
from tests.provider_support import start, user_and_key
from tests.upstreams.media_mock import AUDIO_CHUNKS, REPORTED_SECONDS, TRANSCRIPT, MediaState, make_media_app

MODELS = "dall-e-2,dall-e-3,tts-1,whisper-1,text-moderation-latest"


@pytest.fixture
def media(io_loop):
    state = MediaState()
    state.url, stop = start(io_loop, make_media_app(state))
    yield state
    stop()


async def setup(gateway, media, key="key-ok"):
    user, token = await user_and_key(gateway)
    await gateway.make_channel(media.url, key=key, models=MODELS)
    return user, token


async def billed(gateway, user):
    await gateway.settled()
    return 10_000_000 - await gateway.quota_of(user)


@pytest.mark.gen_test
@pytest.mark.parametrize("request_body,quota", [
    ({"model": "dall-e-3", "prompt": "a cat", "size": "1792x1024", "quality": "hd"}, 60_000),   # $0.04 × 2 × 1.5
    ({"model": "dall-e-3", "prompt": "a cat", "quality": "hd"}, 40_000),                        # $0.04 × 2
    ({"model": "dall-e-2", "prompt": "a cat", "size": "512x512", "n": 3}, 27_000),              # $0.02 × 0.9 × 3
])
async def test_images_are_billed_per_image_with_multipliers(gateway, media, request_body, quota):
    user, key = await setup(gateway, media)

    response = await gateway.fetch("/v1/images/generations", "POST", json=request_body, key=key)

    assert response.status == 200, response.body
    assert len(response.json["data"]) == request_body.get("n", 1)
    assert media.requests[0][2] == request_body
    assert await billed(gateway, user) == quota
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["quota"] == quota and entry["model_name"] == request_body["model"]


@pytest.mark.gen_test
@pytest.mark.parametrize("request_body,param", [
    ({"model": "dall-e-3", "prompt": "a cat", "n": 2}, "n"),
    ({"model": "dall-e-3", "prompt": "a cat", "size": "256x256"}, "size"),
    ({"model": "dall-e-2", "prompt": "a cat", "quality": "hd"}, "quality"),
    ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt"),
    ({"model": "dall-e-2"}, "prompt"),
])
async def test_bad_image_requests_are_refused_before_anything(gateway, media, request_body, param):
    user, key = await setup(gateway, media)

    response = await gateway.fetch("/v1/images/generations", "POST", json=request_body, key=key)

    assert response.status == 400 and response.json["error"]["param"] == param
    assert media.requests == []
    assert await billed(gateway, user) == 0


@pytest.mark.gen_test
async def test_failed_image_call_charges_nothing(gateway, media):
    user, key = await setup(gateway, media, key="key-500")
    await gateway.services.options.set("RetryTimes", "0")

    response = await gateway.fetch("/v1/images/generations", "POST", json={"model": "dall-e-3", "prompt": "a"},
                                   key=key)

    assert response.status == 500 and "mock failure" in response.json["error"]["message"]
    assert await billed(gateway, user) == 0


@pytest.mark.gen_test
async def test_speech_streams_audio_and_bills_per_character(gateway, media):
    user, key = await setup(gateway, media)
    chunks = []

    response = await gateway.fetch("/v1/audio/speech", "POST", key=key, streaming_callback=chunks.append,
                                   json={"model": "tts-1", "input": "Hello world", "voice": "alloy"})

    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert b"".join(chunks) == b"".join(AUDIO_CHUNKS)
    assert await billed(gateway, user) == 83        # 11 characters × 7.5 = 82.5, rounded half up
    refused = await gateway.fetch("/v1/audio/speech", "POST", key=key, json={"model": "tts-1", "voice": "alloy"})
    assert refused.status == 400 and refused.json["error"]["param"] == "input"


@pytest.mark.gen_test
async def test_speech_upstream_error_is_refunded(gateway, media):
    user, key = await setup(gateway, media, key="key-400")

    response = await gateway.fetch("/v1/audio/speech", "POST", key=key,
                                   json={"model": "tts-1", "input": "Hello", "voice": "alloy"})

    assert response.status == 400 and response.json["error"]["message"].startswith("mock failure")
    assert await billed(gateway, user) == 0


def multipart(fields: dict, audio: bytes):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
                 f'Content-Type: application/octet-stream\r\n\r\n'.encode() + audio + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def wav_bytes(seconds: float, rate=16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(rate * seconds))
    return out.getvalue()


@pytest.mark.gen_test
async def test_transcription_of_a_wav_is_billed_by_duration(gateway, media):
    user, key = await setup(gateway, media)
    body, headers = multipart({"model": "whisper-1"}, wav_bytes(2.5))

    response = await gateway.fetch("/v1/audio/transcriptions", "POST", key=key, body=body, headers=headers)

    assert response.status == 200, response.body
    assert response.json["text"] == TRANSCRIPT
    assert media.requests[0][2] == {"model": "whisper-1", "file_size": len(wav_bytes(2.5))}
    assert await billed(gateway, user) == 750       # ceil(2.5 s) = 3 s = 50 tokens × 15
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["prompt_tokens"] == 50


def mp3_bytes(frames: int) -> bytes:
    """Constant-bitrate MPEG-1 layer III frames (128 kbit/s, 44.1 kHz) of silence: 1152 samples each."""
    return (bytes([0xFF, 0xFB, 0x90, 0x00]) + bytes(413)) * frames


@pytest.mark.gen_test
async def test_transcription_of_an_mp3_is_billed_by_duration(gateway, media):
    user, key = await setup(gateway, media)
    body, headers = multipart({"model": "whisper-1"}, mp3_bytes(2335))       # 60.9 s

    response = await gateway.fetch("/v1/audio/transcriptions", "POST", key=key, body=body, headers=headers)

    assert response.status == 200, response.body
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["prompt_tokens"] == 1017 and entry["quota"] == 1017 * 15    # ceil(60.9 s) = 61 s of 60


def ebml(element_id: int, payload: bytes, unknown_size=False) -> bytes:
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else (0x10000000 | len(payload)).to_bytes(4, "big")
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size + payload


def webm_bytes(seconds: float, duration=False) -> bytes:
    """A recording as browsers make it: 20-ms Opus blocks in 1-s clusters, segment and clusters of unknown
    size, no Duration in Info (unless asked)."""
    info = ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
    if duration:
        info += ebml(0x4489, struct.pack(">d", seconds * 1000))
    milliseconds, clusters = round(seconds * 1000), b""
    for start in range(0, milliseconds, 1000):
        blocks = b"".join(ebml(0xA3, b"\x81" + struct.pack(">h", t) + b"\x80" + bytes(40))
                          for t in range(0, min(1000, milliseconds - start), 20))
        clusters += ebml(0x1F43B675, ebml(0xE7, start.to_bytes(4, "big")) + blocks, unknown_size=True)
    segment = ebml(0x1549A966, info) + ebml(0x1654AE6B, bytes(30)) + clusters
    return ebml(0x1A45DFA3, ebml(0x4282, b"webm")) + ebml(0x18538067, segment, unknown_size=True)


@pytest.mark.gen_test
async def test_transcription_of_a_browser_webm_recording_is_billed_by_duration(gateway, media):
    user, key = await setup(gateway, media)
    body, headers = multipart({"model": "whisper-1"}, webm_bytes(61.5))       # last block at 61.48 s

    response = await gateway.fetch("/v1/audio/transcriptions", "POST", key=key, body=body, headers=headers)

    assert response.status == 200, response.body
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["prompt_tokens"] == 1033 and entry["quota"] == 1033 * 15    # ceil(61.48 s) = 62 s of 60


def test_webm_durations():
    assert webm_seconds(webm_bytes(61.5)) == pytest.approx(61.48)
    assert webm_seconds(webm_bytes(61.5, duration=True)) == pytest.approx(61.5)     # Info's Duration wins
    whole = webm_bytes(10)
    assert webm_seconds(whole[:len(whole) // 2]) == pytest.approx(4.98, abs=0.05)   # cut short: what arrived
    for unusable in (b"", b"\x1a\x45\xdf\xa3", b"\x1a\x45\xdf\xa3" + bytes(50), b"OggS" + bytes(50),
                     ebml(0x1A45DFA3, b"") + ebml(0x18538067, b"", unknown_size=True)):
        assert webm_seconds(unusable) is None
    assert audio_seconds(webm_bytes(3)) == pytest.approx(2.98)


@pytest.mark.gen_test
async def test_a_duration_the_upstream_reports_is_what_is_billed(gateway, media):
    user, key = await setup(gateway, media)
    body, headers = multipart({"model": "whisper-1", "response_format": "verbose_json"}, b"webm, say" * 100)

    response = await gateway.fetch("/v1/audio/transcriptions", "POST", key=key, body=body, headers=headers)

    assert response.status == 200 and response.json["duration"] == REPORTED_SECONDS
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["prompt_tokens"] == 717                                        # ceil(42.3 s) = 43 s of 60


@pytest.mark.gen_test
async def test_translation_of_other_audio_is_billed_by_returned_text(gateway, media):
    user, key = await setup(gateway, media)
    body, headers = multipart({"model": "whisper-1", "response_format": "text"}, b"\xff\xfbnot-a-wav" * 100)

    response = await gateway.fetch("/v1/audio/translations", "POST", key=key, body=body, headers=headers)

    assert response.status == 200 and response.body.decode() == TRANSCRIPT
    assert media.requests[0][0] == "/v1/audio/translations"
    tokens = gateway.services.tokenizer.count_text("whisper-1", TRANSCRIPT)
    assert await billed(gateway, user) == tokens * 15


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
async def test_model_mapping_rewrites_the_model_field_of_uploads(gateway, media, path):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(media.url, models="whisper-1", model_mapping={"whisper-1": "whisper-large-v3"})
    audio = wav_bytes(1.2)
    # the model field after the file, and a prompt field that names the model too: only the field changes
    body, headers = multipart({"prompt": 'name="model" whisper-1', "language": "en"}, audio)
    boundary = headers["Content-Type"].split("boundary=")[1]
    body = body[:-len(f"--{boundary}--\r\n")] + (f'--{boundary}\r\nContent-Disposition: form-data; name="model"'
                                                   f'\r\n\r\nwhisper-1\r\n--{boundary}--\r\n').encode()

    response = await gateway.fetch(path, "POST", key=key, body=body, headers=headers)

    assert response.status == 200, response.body
    [(sent_path, _, fields)] = media.requests
    assert sent_path == path
    assert fields == {"model": "whisper-large-v3", "prompt": 'name="model" whisper-1', "language": "en",
                      "file_size": len(audio)}
    [entry] = await gateway.logs(user_id=user.id)
    assert entry["model_name"] == "whisper-1" and entry["prompt_tokens"] == 33   # ceil(1.2 s) = 2 s of 60


@pytest.mark.gen_test
async def test_moderations_default_model_and_token_billing(gateway, media):
    user, key = await setup(gateway, media)

    response = await gateway.fetch("/v1/moderations", "POST", key=key, json={"input": "some text to check " * 20})

    assert response.status == 200, response.body
    assert response.json["results"] == [{"flagged": False}]
    assert media.requests[0][2]["model"] == "text-moderation-latest"
    tokens = gateway.services.tokenizer.count_text("text-moderation-latest", "some text to check " * 20)
    assert await billed(gateway, user) == round(tokens * 0.1)


@pytest.mark.gen_test
async def test_one_model_and_not_implemented_routes(gateway, media):
    user, key = await setup(gateway, media)

    known = await gateway.fetch("/v1/models/dall-e-3", key=key)
    unknown = await gateway.fetch("/v1/models/gpt-9", key=key)
    files = await gateway.fetch("/v1/files", "POST", key=key, json={})
    thread = await gateway.fetch("/v1/threads/t1/runs", key=key)
    delete = await gateway.fetch("/v1/models/dall-e-3", "DELETE", key=key)
    anonymous = await gateway.fetch("/v1/assistants")

    assert known.status == 200 and known.json["id"] == "dall-e-3" and known.json["object"] == "model"
    assert unknown.status == 404 and unknown.json["error"]["code"] == "model_not_found"
    for response in (files, thread, delete):
        assert response.status == 501 and response.json["error"]["code"] == "api_not_implemented"
    assert anonymous.status == 401


def test_durations_an_upstream_may_report():
    assert reported_seconds(b'{"text": "hi", "usage": {"type": "duration", "seconds": 3}}') == 3.0
    assert reported_seconds(b'{"text": "hi", "duration": 7.5}') == 7.5
    assert reported_seconds(b'{"text": "hi", "usage": {"type": "tokens", "input_tokens": 9}}') is None
    for unusable in (b'{"duration": true}', b'{"duration": -1}', b'{"duration": "7"}', b"hi", b"[1]"):
        assert reported_seconds(unusable) is None
    assert audio_seconds(b"\x00" * 1000) is None and audio_seconds(mp3_bytes(100)) > 2.6


@pytest.mark.gen_test
async def test_a_key_pinned_to_a_missing_or_disabled_channel_is_answered_as_on_chat(gateway, media):
    admin = await gateway.make_user("boss", role=100, quota=10_000_000)
    key = await gateway.make_token(admin)
    await gateway.make_channel(media.url, key="key-ok", models=MODELS)
    off = await gateway.make_channel(media.url, key="key-off", models=MODELS, status=2)
    body = {"model": "dall-e-2", "prompt": "a cat"}

    missing = await gateway.fetch("/v1/images/generations", "POST", json=body, key=f"{key}-999")
    disabled = await gateway.fetch("/v1/images/generations", "POST", json=body, key=f"{key}-{off.id}")

    assert (missing.status, missing.json["error"]["code"]) == (404, "channel_not_found")
    assert (disabled.status, disabled.json["error"]["code"]) == (503, "channel_disabled")
    assert media.requests == []
    assert await billed(gateway, admin) == 0
