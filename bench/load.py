"""Load: `wrk` (C, from Debian) sends the POSTs through a Lua script and reports requests, errors and
latency percentiles; while it runs, a small asyncio probe on a few extra connections samples the time to
the first body byte of streamed answers under that same load (wrk cannot see it)."""
import asyncio
import dataclasses
import json
import os
import resource
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request

from bench.procs import tree_cpu_seconds, wait_idle

PROMPT = "Say hello to the benchmark in one short sentence."


def probe_connections(connections: int) -> int:
    """Connections the TTFB probe takes out of a cell's total (wrk gets the rest); at 1 the probe runs alone."""
    return max(1, connections // 25)


def request_body(model: str, stream: bool) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 16}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":"))


@dataclasses.dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0            # non-2xx answers + socket errors + timeouts
    error_detail: str = ""
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    ttfb_p50_ms: float = None
    ttfb_p99_ms: float = None
    ttfb_samples: int = 0
    wrk_cpu: float = 0.0        # cores used by wrk (1.0 = one core busy)
    probe_cpu: float = 0.0      # cores used by this process (the TTFB probe)
    cpu: dict = dataclasses.field(default_factory=dict)   # cores used by each named group of processes
    skipped: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d," ..
    "\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"max\\":%d}}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def write_script(path: str, body: str, key: str = "") -> str:
    auth = f'wrk.headers["Authorization"] = "Bearer {key}"' if key else ""
    with open(path, "w") as f:
        f.write(_LUA.format(body=_lua_string(body), auth=auth))
    return path


async def run_wrk(url, script, connections, seconds, timeout_s=10):
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    threads = min(2, connections)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = await asyncio.create_subprocess_exec(
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s", "-s", script, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = out.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line[len("BENCHJSON "):]), cpu, text
    raise RuntimeError(f"wrk gave no summary:\n{text}")


def prime(url, body, key, timeout=120):
    """One request before any measuring: lazy imports and first connections are not part of a run.
    Returns the HTTP status (0 when there was no answer)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _cpu(groups):
    return {name: tree_cpu_seconds(pids, exclude) for name, (pids, exclude) in groups.items()}


async def measure(url, body, key, connections, seconds, stream, cpu_groups, warmup_s=1) -> Result:
    """One cell: a short warm-up, then `seconds` of wrk at `connections` in all. For streams a probe takes a
    few of those connections to sample the time to first byte; at concurrency 1 it runs alone, after wrk."""
    workdir = os.environ.get("BENCH_WORKDIR", "/tmp")
    script = write_script(os.path.join(workdir, "wrk.lua"), body, key)
    if warmup_s:
        await run_wrk(url, script, min(connections, 50), warmup_s)
        await asyncio.to_thread(wait_idle, cpu_groups, 30)   # what the warm-up left queued is done first
    probe_n = probe_connections(connections) if stream and connections > 1 else 0
    stop = asyncio.Event()
    probe = asyncio.ensure_future(ttfb_probe(url, body, key, stop, probe_n)) if probe_n else None
    cpu_before = _cpu(cpu_groups)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    summary, wrk_cpu, _ = await run_wrk(url, script, connections - probe_n, seconds)
    wall = time.monotonic() - started
    cpu_after = _cpu(cpu_groups)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    samples = await probe if probe else []
    if stream and connections == 1:
        alone = asyncio.Event()
        asyncio.get_running_loop().call_later(min(seconds, 1), alone.set)
        samples = await ttfb_probe(url, body, key, alone, 1)
    errors = {k: summary[k] for k in ("connect", "read", "write", "status", "timeout") if summary[k]}
    result = Result(
        requests=summary["requests"], seconds=summary["duration_us"] / 1e6, errors=sum(errors.values()),
        error_detail=" ".join(f"{k}={v}" for k, v in errors.items()),
        p50_ms=summary["p50"] / 1000, p99_ms=summary["p99"] / 1000,
        wrk_cpu=wrk_cpu / wall,
        probe_cpu=(self_after.ru_utime - self_before.ru_utime + self_after.ru_stime - self_before.ru_stime) / wall,
        cpu={k: (cpu_after[k] - cpu_before[k]) / wall for k in cpu_before})
    if samples:
        samples.sort()
        result.ttfb_samples = len(samples)
        result.ttfb_p50_ms = samples[len(samples) // 2] * 1000
        result.ttfb_p99_ms = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
    return result


# The TTFB probe ---------------------------------------------------------------------------------------
async def ttfb_probe(url, body, key, stop, connections):
    samples = []
    await asyncio.gather(*(_probe_connection(url, body, key, stop, samples) for _ in range(connections)))
    return samples


async def _probe_connection(url, body, key, stop, samples):
    parts = urllib.parse.urlsplit(url)
    payload = body.encode()
    head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n" + (f"Authorization: Bearer {key}\r\n" if key else "") +
            "\r\n").encode() + payload
    reader = writer = None
    try:
        while not stop.is_set():
            if writer is None:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            started = time.monotonic()
            writer.write(head)
            first_byte, keep = await _read_answer(reader)
            if first_byte is not None:
                samples.append(first_byte - started)
            if not keep:
                writer.close()
                writer = None
    except (OSError, asyncio.IncompleteReadError, ValueError):
        pass    # a broken probe connection only costs samples; wrk counts the errors
    finally:
        if writer is not None:
            writer.close()


async def _read_answer(reader):
    """Read one HTTP/1.1 answer; returns (monotonic time of the first body byte, keep-alive)."""
    header = await reader.readuntil(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip().lower()
    keep = fields.get("connection") != "close"
    first = None
    if fields.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            await reader.readexactly(size + 2)
            if first is None:
                first = time.monotonic()
    else:
        length = int(fields.get("content-length", "0"))
        if length:
            chunk = await reader.read(min(length, 65536))
            first = time.monotonic()
            await reader.readexactly(length - len(chunk))
    return (first if status == 200 else None), keep
