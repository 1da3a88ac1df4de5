"""A slow SSE upstream for the streams test: each stream gets one chat-completion chunk every INTERVAL
seconds, COUNT in all, then a usage chunk and [DONE], and the connection closes. One timer writes to every
open stream at once, so thousands of streams cost this process little.
Run: python -m bench.slow_upstream PORT COUNT INTERVAL"""
import asyncio
import json
import sys

import uvloop

from bench.nginx import COMPLETION_TOKENS, PROMPT_TOKENS, STREAM_MODEL

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"


def _event(choices, usage=None) -> bytes:
    chunk = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1700000000,
             "model": STREAM_MODEL, "choices": choices, "usage": usage}
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


WORD = _event([{"index": 0, "delta": {"content": " word"}, "finish_reason": None}])
END = (_event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
       + _event([], {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                     "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS})
       + b"data: [DONE]\n\n")


class SlowStream(asyncio.Protocol):
    def __init__(self, streams: dict, count: int):
        self.streams = streams
        self.count = count
        self.transport = None
        self.received = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self in self.streams:
            return
        self.received += data
        head, sep, body = self.received.partition(b"\r\n\r\n")
        if not sep:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(body) >= length:
            self.transport.write(HEAD)
            self.streams[self] = self.count

    def connection_lost(self, exc):
        self.streams.pop(self, None)


async def tick(streams: dict, interval: float):
    """Every `interval` on a fixed schedule (writing to thousands of streams takes a while; sleeping a
    whole interval after it would stretch every stream)."""
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while True:
        next_tick += interval
        await asyncio.sleep(max(0.0, next_tick - loop.time()))
        for stream, left in list(streams.items()):
            if left > 0:
                stream.transport.write(WORD)
                streams[stream] = left - 1
            else:
                stream.transport.write(END)
                stream.transport.close()
                del streams[stream]


async def main(port: int, count: int, interval: float):
    streams = {}
    loop = asyncio.get_running_loop()
    await loop.create_server(lambda: SlowStream(streams, count), "127.0.0.1", port, backlog=4096)
    await tick(streams, interval)


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
