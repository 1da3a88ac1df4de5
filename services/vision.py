"""Prompt tokens of image parts, counted the way OpenAI bills them.

detail "low": a flat base cost. "high" or "auto": the image is fitted into 2048×2048, then scaled so its
shorter side is at most 768; each 512×512 tile costs the tile price, plus the base. gpt-4o-mini bills
images at its own (higher) rates. The size is read from the header of a data: URL image (PNG, GIF,
JPEG, WebP), or of an image given by web address from its first bytes, fetched before the call within
the download limits (services/user_content.py); an image whose size cannot be read is counted at the
default size, 1024×1024 (765 tokens at high detail).
"""
import base64
import binascii
import math
import struct

RATES = {"default": (85, 170), "gpt-4o-mini": (2833, 5667)}   # (base, per tile)
ASSUMED_SIZE = (1024, 1024)
HEADER_BYTES = 256 * 1024     # image sizes are in the first bytes (JPEG: the first frame header)
CLAUDE_MAX_EDGE, CLAUDE_MAX_TOKENS = 1568, 1600


def image_tokens(model: str, image, sizes=None) -> int:
    """`sizes`: url → (width, height) of images given by web address, read before counting."""
    url, detail = (image.get("url"), image.get("detail")) if isinstance(image, dict) else (image, None)
    base, tile = RATES["gpt-4o-mini"] if str(model).startswith("gpt-4o-mini") else RATES["default"]
    if detail == "low":
        return base
    width, height = data_url_size(url) or (sizes or {}).get(url) or ASSUMED_SIZE
    if max(width, height) > 2048:
        scale = 2048 / max(width, height)
        width, height = width * scale, height * scale
    if min(width, height) > 768:
        scale = 768 / min(width, height)
        width, height = width * scale, height * scale
    return math.ceil(width / 512) * math.ceil(height / 512) * tile + base


def claude_image_tokens(size) -> int:
    """Anthropic's estimate of an image: width × height / 750 once fitted into 1568 pixels, at most
    about 1,600 tokens; an image of unknown size (given by address) counts as the most."""
    if size is None:
        return CLAUDE_MAX_TOKENS
    width, height = size
    if max(width, height) > CLAUDE_MAX_EDGE:
        scale = CLAUDE_MAX_EDGE / max(width, height)
        width, height = width * scale, height * scale
    return min(math.ceil(width * height / 750), CLAUDE_MAX_TOKENS)


def data_url_size(url):
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        return None
    return base64_size(url.split(",", 1)[1])


def base64_size(encoded: str):
    """(width, height) of a base64-encoded image, from its first bytes only."""
    if not isinstance(encoded, str):
        return None
    encoded = encoded[:HEADER_BYTES * 4 // 3]
    encoded = encoded[:len(encoded) - len(encoded) % 4]
    try:
        head = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return None
    return image_size(head)


def image_size(data: bytes):
    """(width, height) from the start of a PNG, GIF, JPEG or WebP file, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes):
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):   # a start-of-frame header
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        position += 2 + length
    return None


def _webp_size(data: bytes):
    kind = data[12:16]
    if kind == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None
