"""Helpers shared by the relay tests: request bodies, SSE parsing, prices, a raw streaming client."""
import asyncio
import socket
from urllib.parse import urlsplit

import ujson

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


def sse_data(raw: bytes) -> list:
    """The `data:` payload of every event of an SSE body, in order (JSON decoded, except [DONE])."""
    events = []
    for event in raw.decode().replace("\r\n", "\n").split("\n\n"):
        lines = [line[5:].strip() for line in event.split("\n") if line.startswith("data:")]
        if lines:
            data = "\n".join(lines)
            events.append(data if data == "[DONE]" else ujson.loads(data))
    return events


async def set_prices(gateway, model_ratio=None, completion_ratio=None, group_ratio=None):
    """Replace the price tables (each a name → number dict) through the option store."""
    options = gateway.services.options
    if model_ratio is not None:
        await options.set("ModelRatio", model_ratio)
    if completion_ratio is not None:
        await options.set("CompletionRatio", completion_ratio)
    if group_ratio is not None:
        await options.set("GroupRatio", group_ratio)


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def chat_prompt_tokens(encoding, messages) -> int:
    """OpenAI's documented count for chat prompts: 3 per message + its fields, 3 to prime the reply."""
    total = 3
    for message in messages:
        total += 3 + sum(len(encoding.encode_ordinary(v)) for v in message.values())
    return total


async def consume_log_entries(gateway, user):
    return [e for e in await gateway.logs(user_id=user.id) if e["type"] == 2]


class RawStream:
    """A streaming request over a plain socket, so a test can read part of the answer and hang up."""

    def __init__(self, gateway, path, payload, key):
        self.url = urlsplit(gateway.url)
        self.path, self.payload, self.key = path, payload, key
        self.reader = self.writer = None
        self.head = b""
        self.body = b""

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.url.hostname, self.url.port)
        body = ujson.dumps(self.payload).encode()
        self.writer.write(
            f"POST {self.path} HTTP/1.1\r\nHost: {self.url.netloc}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        self.head = await self.reader.readuntil(b"\r\n\r\n")

    async def read_until(self, marker: bytes):
        while marker not in self.body:
            chunk = await self.reader.read(65536)
            assert chunk, f"connection closed before {marker!r}: {self.body!r}"
            self.body += chunk

    def close(self):
        self.writer.close()
