"""Where Tollgate spends its time under load: py-spy samples the gateway and the embedded database while
wrk drives non-streaming (then streaming) chat completions at concurrency 50 (or --concurrency).
Run: python -m bench.profile [--seconds 15] [--workers 1] [--concurrency 50]"""
import argparse
import asyncio
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

from bench.load import request_body, run_wrk, write_script
from bench.nginx import start_upstream
from bench.procs import child_pids
from bench.tollgate import Tollgate


def py_spy() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return beside if os.path.exists(beside) else shutil.which("py-spy") or "py-spy"


OURS = ("services/", "models/", "handlers/", "server.py")
LIBRARIES = ("pymongo/", "bson/", "tornado/", "tiktoken", "ujson", "nx_27017/", "neosqlite/")


def summarise(raw_path, top=15):
    """From py-spy's collapsed stacks: the functions that run themselves most (self), Tollgate's functions
    with everything under them (inclusive), and the share of samples inside each library."""
    own, inclusive, libraries, total = collections.Counter(), collections.Counter(), collections.Counter(), 0
    with open(raw_path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            # one entry per function, not per line: "name (path:line)" -> "name (path)"
            frames = [re.sub(r":\d+\)$", ")", fr) for fr in stack.split(";")
                      if not fr.startswith(("process ", "thread "))]
            if not frames or not count.isdigit():
                continue
            n = int(count)
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                if frame.split("(", 1)[-1].startswith(OURS):
                    inclusive[frame] += n
            for library in {lib for lib in LIBRARIES for fr in frames if lib in fr}:
                libraries[library] += n
    if not total:
        return "no samples"
    share = lambda n: f"{100 * n / total:5.1f}%"   # noqa: E731
    lines = [f"{total} samples", "  self:"]
    lines += [f"    {share(n)}  {name}" for name, n in own.most_common(top)]
    lines += ["  inclusive, Tollgate's code:"] + [f"    {share(n)}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["  inside each library:"] + [f"    {share(n)}  {name}" for name, n in libraries.most_common()]
    return "\n".join(lines)


def gateway_pids(tollgate, db_pids) -> list:
    """The processes that serve requests: the server itself with 1 worker, else its workers (not the
    embedded database, which is its child too)."""
    if tollgate.workers == 1:
        return [tollgate.process.pid]
    return [pid for pid in child_pids(tollgate.process.pid) if pid not in db_pids]


def spy(pid, out, seconds):
    command = [py_spy(), "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "-f", "raw", "-o", out,
               "--nonblocking"]
    return out, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarise_all(outs) -> str:
    """One summary of several processes' samples (collapsed stacks add up line by line)."""
    written = [out for out in outs if os.path.exists(out)]
    if not written:
        return "py-spy wrote nothing"
    merged = written[0] + ".all"
    with open(merged, "w") as f:
        for out in written:
            with open(out) as part:
                f.write(part.read())
    return summarise(merged)


async def profile(args):
    workdir = tempfile.mkdtemp(prefix="tollgate-profile-")
    os.environ["BENCH_WORKDIR"] = workdir
    upstream = start_upstream(workdir)
    tollgate = Tollgate(workdir, upstream.port, workers=args.workers)
    try:
        tollgate.start()
        db_pid = tollgate.cpu_groups["db"][0]
        for stream in (False, True):
            script = write_script(os.path.join(workdir, "wrk.lua"), request_body(tollgate.model(stream), stream),
                                  tollgate.key)
            await run_wrk(tollgate.url(stream), script, args.concurrency, 2)       # warm-up
            mode = "stream" if stream else "chat"
            spies = {name: [spy(pid, os.path.join(workdir, f"{name}-{pid}-{mode}.txt"), args.seconds) for pid in pids]
                     for name, pids in (("gateway", gateway_pids(tollgate, db_pid)), ("db", db_pid))}
            summary, _, _ = await run_wrk(tollgate.url(stream), script, args.concurrency, args.seconds)
            print(f"\n=== {mode}, concurrency {args.concurrency}: {summary['requests'] / (summary['duration_us'] / 1e6):.0f} req/s, "
                  f"p50 {summary['p50'] / 1000:.1f} ms")
            for name, runs in spies.items():
                for _, process in runs:
                    process.wait()
                print(f"--- {name}: " + summarise_all([out for out, _ in runs]))
    finally:
        tollgate.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=50)
    asyncio.run(profile(parser.parse_args()))


if __name__ == "__main__":
    main()
