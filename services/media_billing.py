"""What image, speech and transcription calls are allowed to ask for, and what they cost.

Images: per image, the model's fixed price (USD; a ratio-only model costs 0.0025 USD × ratio) times the
size and quality multipliers, × n × group ratio (New API's rule). Speech: per input character × model
ratio × group ratio. Transcriptions: by audio duration (1 minute = 1000 tokens, as New API counts): the one
the upstream reports, else the upload's as read here (WAV, WebM, MP3, M4A, OGG, FLAC...); by the tokens of the
returned text when neither is known.
"""
import io
import math
import struct

import mutagen
import ujson

from services.errors import RelayError
from services.webm_duration import webm_seconds

RATIO_IMAGE_PRICE = 0.0025   # USD per image per unit of model ratio, for image models without a price
MAX_AUDIO_SECONDS = 24 * 3600  # a duration past this is not believed
IMAGE_MODELS = {
    # model: (sizes → multiplier, qualities → multiplier (per size class), n range, prompt limit)
    "dall-e-2": ({"256x256": 0.8, "512x512": 0.9, "1024x1024": 1}, {"standard": 1}, (1, 10), 1000),
    "dall-e-3": ({"1024x1024": 1, "1024x1792": 2, "1792x1024": 2}, {"standard": 1, "hd": 2}, (1, 1), 4000),
    "gpt-image-1": ({"1024x1024": 1, "1024x1536": 1.5, "1536x1024": 1.5, "auto": 1},
                    {"auto": 1, "low": 0.25, "medium": 1, "high": 4}, (1, 10), 32000),
}
HD_LARGE_MULTIPLIER = 1.5    # dall-e-3 hd at a 1792 size costs 1.5× the standard 1792 price
SPEECH_INPUT_LIMIT = 4096
TOKENS_PER_MINUTE = 1000


def bad_request(message: str, param: str) -> RelayError:
    return RelayError(400, message, "invalid_request", "invalid_request_error", param)


def image_request(body: dict):
    """(model, n, size, quality) of an image request, checked against the model's limits."""
    model = body.get("model") or "dall-e-2"
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise bad_request("`prompt` is required.", "prompt")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int):
        raise bad_request("`n` must be a whole number.", "n")
    rules = IMAGE_MODELS.get(model)
    size = body.get("size") or ("auto" if model == "gpt-image-1" else "1024x1024")
    quality = body.get("quality") or ("auto" if model == "gpt-image-1" else "standard")
    if rules is None:
        if not 1 <= n <= 10:
            raise bad_request("`n` must be between 1 and 10.", "n")
        return model, n, size, quality
    sizes, qualities, (low, high), prompt_limit = rules
    if size not in sizes:
        raise bad_request(f"`size` must be one of {', '.join(sizes)} for {model}.", "size")
    if quality not in qualities:
        raise bad_request(f"`quality` must be one of {', '.join(qualities)} for {model}.", "quality")
    if not low <= n <= high:
        raise bad_request(f"`n` must be {low} for {model}." if low == high else
                          f"`n` must be between {low} and {high} for {model}.", "n")
    if len(prompt) > prompt_limit:
        raise bad_request(f"`prompt` is longer than {prompt_limit} characters for {model}.", "prompt")
    return model, n, size, quality


def image_multiplier(model: str, size: str, quality: str) -> float:
    rules = IMAGE_MODELS.get(model)
    if rules is None:
        return 1
    sizes, qualities = rules[0], rules[1]
    quality_multiplier = qualities.get(quality, 1)
    if model == "dall-e-3" and quality == "hd" and sizes[size] > 1:
        quality_multiplier = HD_LARGE_MULTIPLIER
    return sizes[size] * quality_multiplier


def speech_request(body: dict) -> str:
    text = body.get("input")
    if not isinstance(text, str) or not text:
        raise bad_request("`input` is required.", "input")
    if len(text) > SPEECH_INPUT_LIMIT:
        raise bad_request(f"`input` is longer than {SPEECH_INPUT_LIMIT} characters.", "input")
    if not isinstance(body.get("voice"), str) or not body["voice"]:
        raise bad_request("`voice` is required.", "voice")
    return text


def wav_seconds(data: bytes):
    """The duration of a RIFF/WAVE file from its header, or None when it is not one we can read."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position, byte_rate = 12, 0
    while position + 8 <= len(data):
        chunk_id, size = data[position:position + 4], struct.unpack("<I", data[position + 4:position + 8])[0]
        if chunk_id == b"fmt " and size >= 12:
            byte_rate = struct.unpack("<I", data[position + 16:position + 20])[0]
        elif chunk_id == b"data":
            if not byte_rate:
                return None
            return min(size, len(data) - position - 8) / byte_rate
        position += 8 + size + (size & 1)
    return None


def audio_seconds(data: bytes):
    """The duration of an uploaded audio file, or None when it cannot be read. WAV and WebM are read
    here, other formats by mutagen; each takes some milliseconds per megabyte: call this off the event
    loop."""
    seconds = wav_seconds(data)
    if seconds is None:
        seconds = webm_seconds(data)
    if seconds is None:
        seconds = _mutagen_seconds(data)
    return float(seconds) if isinstance(seconds, (int, float)) and 0 < seconds < MAX_AUDIO_SECONDS else None


def _mutagen_seconds(data: bytes):
    try:
        audio = mutagen.File(io.BytesIO(data))
    except Exception:     # mutagen has many ways to say that an upload is not audio it knows
        return None
    return getattr(getattr(audio, "info", None), "length", None)


def reported_seconds(body: bytes):
    """The duration an upstream states in a JSON transcription answer: `usage` of type duration, or
    verbose_json's `duration`; None otherwise."""
    try:
        payload = ujson.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    usage = payload.get("usage")
    if isinstance(usage, dict) and usage.get("type") == "duration":
        seconds = usage.get("seconds")
    else:
        seconds = payload.get("duration")
    ok = isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 < seconds < MAX_AUDIO_SECONDS
    return float(seconds) if ok else None


def duration_tokens(seconds: float) -> int:
    return round(math.ceil(seconds) / 60 * TOKENS_PER_MINUTE)


def transcript_text(body: bytes, response_format: str) -> str:
    """The words of a transcription answer, whatever format was asked for."""
    text = body.decode("utf-8", "replace")
    if response_format in ("", "json", "verbose_json"):
        try:
            payload = ujson.loads(text)
        except ValueError:
            return text
        return payload.get("text", "") if isinstance(payload, dict) else ""
    if response_format in ("srt", "vtt"):
        lines = [line for line in text.splitlines()
                 if line.strip() and "-->" not in line and not line.strip().isdigit() and line.strip() != "WEBVTT"]
        return "\n".join(lines)
    return text
