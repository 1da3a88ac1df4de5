"""The scale of streams: one Tollgate process holds thousands of slow SSE streams at once (the upstream
sends a chunk every 100 ms for 30 s) with no errors, and reports its peak memory (VmHWM).

The client side is a small asyncio protocol per connection (no HTTP library), so thousands of streams
cost the measuring process little; connections are opened over a couple of seconds."""
import asyncio
import dataclasses
import math
import sys
import time

from bench.load import request_body
from bench.nginx import STREAM_MODEL
from bench.procs import tree_cpu_seconds
from bench.targets import Process
from bench.tollgate import Tollgate

OPEN_BATCH = 250          # connections opened at a time while ramping up
OPEN_EVERY = 0.1          # seconds between batches
CHUNK_END = b"0\r\n\r\n"  # the last chunk of a chunked HTTP body


@dataclasses.dataclass
class StreamsResult:
    streams: int = 0
    completed: int = 0
    errors: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    first_byte_ms: list = dataclasses.field(default_factory=list)
    peak_rss_mb: float = 0.0
    gateway_cpu: float = 0.0
    money: dict = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class StreamClient(asyncio.Protocol):
    """One streamed chat completion: sends the request, reads until the body's last chunk, and says how
    it ended (None when it completed with [DONE])."""

    def __init__(self, request: bytes, done: asyncio.Future):
        self.request = request
        self.done = done
        self.started = time.monotonic()
        self.first_byte = None
        self.status = b""
        self.tail = b""
        self.saw_done = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.first_byte is None:
            self.first_byte = time.monotonic() - self.started
            self.status = data[9:12]
        window = self.tail + data
        self.saw_done = self.saw_done or b"[DONE]" in window
        self.tail = window[-32:]
        if self.tail.endswith(CHUNK_END):
            self.transport.close()
            self._end(self._verdict())

    def _verdict(self):
        if self.status != b"200":
            return f"status {self.status.decode()}"
        return None if self.saw_done else "no [DONE]"

    def connection_lost(self, exc):
        self._end("connection closed early")

    def _end(self, error):
        if not self.done.done():
            self.done.set_result(error)


def _request(port: int, key: str) -> bytes:
    body = request_body(STREAM_MODEL, True).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _one(loop, port, request, timeout):
    done = loop.create_future()
    try:
        transport, protocol = await loop.create_connection(lambda: StreamClient(request, done), "127.0.0.1", port)
    except OSError as exc:
        return f"connect: {exc.strerror or exc}", None
    try:
        error = await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        transport.close()
        error = "timeout"
    return error, protocol.first_byte


async def hold_streams(port: int, key: str, count: int, timeout: float) -> StreamsResult:
    loop = asyncio.get_running_loop()
    request = _request(port, key)
    started = time.monotonic()
    tasks = []
    for first in range(0, count, OPEN_BATCH):
        tasks += [asyncio.ensure_future(_one(loop, port, request, timeout))
                  for _ in range(min(OPEN_BATCH, count - first))]
        await asyncio.sleep(OPEN_EVERY)
    result = StreamsResult(streams=count)
    for error, first_byte in await asyncio.gather(*tasks):
        if error is None:
            result.completed += 1
        else:
            result.errors[error] = result.errors.get(error, 0) + 1
        if first_byte is not None:
            result.first_byte_ms.append(first_byte * 1000)
    result.seconds = time.monotonic() - started
    return result


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run_streams_test(workdir: str, count: int, chunks: int, interval: float) -> StreamsResult:
    """Start a slow upstream and a one-worker Tollgate in front of it, hold `count` streams, check the money."""
    upstream = Process("slow-upstream", workdir, lambda port: [sys.executable, "-m", "bench.slow_upstream", str(port),
                                                              str(chunks), str(interval)]).start()
    tollgate = Tollgate(workdir, upstream.port, workers=1, name="tollgate-streams",
                        env={"UPSTREAM_MAX_CLIENTS": str(count + 100)})
    try:
        tollgate.start()
        tollgate.mark()
        cpu_before = tree_cpu_seconds(tollgate.pids)
        expected = chunks * interval
        # A gateway that cannot keep pace makes streams last longer; how long is reported, not an error.
        result = await hold_streams(tollgate.port, tollgate.key, count, timeout=max(150, 5 * expected))
        result.gateway_cpu = (tree_cpu_seconds(tollgate.pids) - cpu_before) / result.seconds
        result.peak_rss_mb = peak_rss_mb(tollgate.process.pid)
        result.money = tollgate.money_check()
        return result
    finally:
        tollgate.stop()
        upstream.stop()


def summary(result: StreamsResult, chunks: int, interval: float) -> str:
    ttfb = sorted(result.first_byte_ms)
    pick = (lambda q: f"{ttfb[min(len(ttfb) - 1, math.floor(q * len(ttfb)))]:.0f}") if ttfb else (lambda q: "–")
    errors = ", ".join(f"{n} {why}" for why, n in result.errors.items()) or "none"
    return (f"{result.streams:,} concurrent slow streams (a chunk every {interval * 1000:.0f} ms for "
            f"{chunks * interval:.0f} s) through one process: {result.completed:,} completed with [DONE], "
            f"errors: {errors}; all done after {result.seconds:.0f} s; first byte p50 {pick(0.5)} ms, p99 "
            f"{pick(0.99)} ms; gateway CPU {result.gateway_cpu:.2f} cores; peak RSS {result.peak_rss_mb:.0f} MB "
            f"(goal < 400 MB: {'met' if result.peak_rss_mb < 400 and not result.errors else 'NOT met'})")
