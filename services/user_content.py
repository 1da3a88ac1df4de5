"""Files that chat messages point to by web address (images), fetched through the shared upstream client
within a size limit (MAX_FILE_DOWNLOAD_MB) and a time limit (USER_CONTENT_REQUEST_TIMEOUT).

Two uses: the size of an image, for billing it the way OpenAI does (only the first bytes are read; an
image that cannot be read is counted at the default size, see services/vision.py), and the whole image,
for upstreams that take images only inline (Gemini), where an image that cannot be fetched is the
client's error.
"""
import asyncio
import base64
import ipaddress
import logging
import urllib.parse

from services.errors import RelayError
from services.upstream import NO_RESPONSE
from services.vision import HEADER_BYTES, image_size

log = logging.getLogger("tollgate.relay")

MAX_IMAGES = 16          # distinct web images one request may have fetched (as New API's Gemini limit)
PARALLEL = 4             # downloads of one request at once
INLINE_ENCODE_BYTES = 1 << 20    # larger images are base64-encoded off the event loop
SNIFFED_TYPES = ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"GIF8", "image/gif"),
                 (b"RIFF", "image/webp"))


class ContentUnavailable(Exception):
    """The file could not be had within the limits (the message says why)."""


async def _check_public(url: str):
    """Refuse addresses a client should not make the gateway fetch: loopback, private, link-local and
    other non-public networks (the host name is resolved and every address checked)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise ContentUnavailable("the address has no host")
    try:
        found = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443)
    except OSError:
        raise ContentUnavailable("its host name does not resolve") from None
    for *_, sockaddr in found:
        if not ipaddress.ip_address(sockaddr[0]).is_global:
            raise ContentUnavailable("its address is not a public one")


def web_image_urls(messages, include_low_detail=True) -> list:
    """The distinct http(s) image addresses of a chat conversation, in order."""
    urls = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            image = part.get("image_url")
            url, detail = (image.get("url"), image.get("detail")) if isinstance(image, dict) else (image, None)
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or url in urls:
                continue
            if include_low_detail or detail != "low":
                urls.append(url)
    return urls


class UserContent:
    def __init__(self, upstream, max_bytes: int, timeout: float, allow_private: bool = False):
        self.upstream = upstream
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.allow_private = allow_private    # fetch from loopback and private networks too

    async def download(self, url: str, enough=None):
        """(body, content type) of `url`; `enough(prefix)` may stop the download early.
        Raises ContentUnavailable past the size or time limit, or for any answer but 200."""
        if not self.allow_private:
            await _check_public(url)
        # No redirects: a public address must not lead the gateway to a private one.
        stream = self.upstream.open_stream(url, "GET", {"Accept": "image/*"}, None, timeout=self.timeout,
                                           follow_redirects=self.allow_private)
        try:
            return await asyncio.wait_for(self._read(stream, enough), self.timeout)
        except asyncio.TimeoutError:
            raise ContentUnavailable(f"it took longer than {self.timeout:g} s") from None
        finally:
            stream.cancel_now()     # a finished transfer is left alone; anything still running stops

    async def _read(self, stream, enough):
        await stream.wait_headers(None)
        if stream.status == NO_RESPONSE:
            raise ContentUnavailable(f"no answer ({stream.error})")
        if stream.status != 200:
            raise ContentUnavailable(f"the server answered {stream.status}")
        length = stream.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > self.max_bytes:
            raise ContentUnavailable(f"it is larger than {self.max_bytes // (1024 * 1024)} MiB")
        parts, size = [], 0
        while (chunk := await stream.next_chunk(None)) is not None:
            parts.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                raise ContentUnavailable(f"it is larger than {self.max_bytes // (1024 * 1024)} MiB")
            if enough is not None and enough(b"".join(parts)):
                break
        else:
            if stream.status == NO_RESPONSE:
                raise ContentUnavailable(f"the transfer broke ({stream.error})")
        return b"".join(parts), stream.headers.get("Content-Type", "")

    # Billing ------------------------------------------------------------------------------------
    async def image_sizes(self, messages) -> dict:
        """url → (width, height) of the web images that are billed by size; those that cannot be read
        within the limits are left out (and counted at the default size)."""
        urls = web_image_urls(messages, include_low_detail=False)[:MAX_IMAGES]
        if not urls:
            return {}
        gate = asyncio.Semaphore(PARALLEL)
        sizes = await asyncio.gather(*(self._size(url, gate) for url in urls))
        return {url: size for url, size in zip(urls, sizes) if size is not None}

    async def _size(self, url, gate):
        async with gate:
            try:
                head, _ = await self.download(url, lambda data: image_size(data) is not None
                                              or len(data) >= HEADER_BYTES)
            except ContentUnavailable as exc:
                log.info("image size not read, counted at the default size: %s", exc)
                return None
        return image_size(head)

    # Inline images --------------------------------------------------------------------------------
    async def inline_images(self, urls, sizes=None) -> dict:
        """url → (mime type, base64 data) of every url; RelayError 400 when one cannot be had. `sizes`,
        when given, gets url → (width, height) of those whose size can be read."""
        if len(urls) > MAX_IMAGES:
            raise RelayError(400, f"A request may hold at most {MAX_IMAGES} images given by web address.",
                             "too_many_images", "invalid_request_error", "messages")
        gate = asyncio.Semaphore(PARALLEL)
        images = await asyncio.gather(*(self._inline(url, gate, sizes) for url in urls))
        return dict(zip(urls, images))

    async def _inline(self, url, gate, sizes):
        async with gate:
            try:
                data, content_type = await self.download(url)
            except ContentUnavailable as exc:
                raise RelayError(400, f"The image at {url[:200]} could not be downloaded: {exc}.",
                                 "image_download_failed", "invalid_request_error", "messages") from None
        size = image_size(data) if sizes is not None else None
        if size is not None:
            sizes[url] = size
        if len(data) > INLINE_ENCODE_BYTES:
            encoded = await asyncio.get_running_loop().run_in_executor(None, base64.b64encode, data)
        else:
            encoded = base64.b64encode(data)
        return _mime_type(data, content_type), encoded.decode()


def _mime_type(data: bytes, content_type: str) -> str:
    declared = content_type.split(";")[0].strip().lower()
    if declared.startswith("image/"):
        return declared
    for magic, mime in SNIFFED_TYPES:
        if data.startswith(magic):
            return mime
    return "image/jpeg"
