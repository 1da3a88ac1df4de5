"""Tollgate's benchmark, one command (`make bench` or `python -m bench.run`): starts a fixed-response
upstream (nginx), an nginx proxy hop, a bare Tornado forwarder, Tollgate (1 and 2 workers, full key checks,
billing and logging on the embedded MongoDB) and LiteLLM's proxy, all on loopback; measures non-streaming and
streaming chat completions at several concurrencies; prints one table with ratios; checks the money after
each Tollgate run; appends the table to bench/RESULTS.md."""
import argparse
import asyncio
import math
import os
import shutil
import signal
import sys
import tempfile
import time

from bench import report
from bench.load import Result, measure, prime, request_body
from bench.nginx import Nginx, upstream_conf
from bench.procs import wait_idle
from bench.targets import Direct, LiteLLM, NginxHop, bare_forwarder, litellm_available
from bench.tollgate import Tollgate, workers_supported

TARGETS = ["upstream", "nginx-hop", "bare-tornado", "tollgate-1w", "tollgate-2w", "litellm"]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured run (default 3)")
    parser.add_argument("--max-seconds", type=int, default=12,
                        help="longest run for a slow target at high concurrency (default 12)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up before each run (default 1)")
    parser.add_argument("--concurrency", default="1,50,500", help="connection counts (default 1,50,500)")
    parser.add_argument("--only", default=",".join(TARGETS), help=f"targets to run (default {','.join(TARGETS)})")
    parser.add_argument("--modes", default="chat,stream", help="chat, stream or both (default both)")
    parser.add_argument("--budget", type=int, default=540,
                        help="seconds after which the remaining runs are skipped (default 540)")
    parser.add_argument("--no-record", action="store_true", help="do not append the table to bench/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    return parser.parse_args(argv)


def cpu_groups(target, upstream):
    groups = getattr(target, "cpu_groups", None) or {"target": (target.pids, [])}
    if target.pids != upstream.pids:
        groups = {**groups, "upstream": (upstream.pids, [])}
    return groups


async def run_target(target, upstream, plan, args, rows, notes):
    for stream in plan["modes"]:
        body = request_body(target.model(stream), stream)
        status = prime(target.url(stream), body, target.key)
        if status != 200:
            raise RuntimeError(f"the first {'stream' if stream else 'chat'} request answered {status or 'nothing'}")
        single = None    # requests/s at concurrency 1, to size the longer runs of slow targets
        for connections in plan["concurrency"]:
            if time.monotonic() > plan["deadline"]:
                notes.append(f"{target.name} {'stream' if stream else 'chat'} c={connections}: skipped, "
                             f"the run's time budget ({args.budget} s) was spent")
                continue
            groups = cpu_groups(target, upstream)
            seconds = args.seconds
            if single:     # long enough for each connection to finish a couple of requests, within a cap
                seconds = min(max(args.seconds, math.ceil(2 * connections / single)), args.max_seconds)
            waited = wait_idle(groups, timeout=30)    # what the last run left queued is done first
            if waited >= 30:
                notes.append(f"{target.name}: still busy 30 s after a run, measured anyway")
            started = time.monotonic()
            result = await measure(target.url(stream), body, target.key, connections, seconds, stream,
                                   groups, args.warmup)
            if connections == 1:
                single = result.rps
            rows.append((target.name, stream, connections, result))
            print(report.progress_line(target.name, stream, connections, result, time.monotonic() - started),
                  flush=True)


def build_target(name, workdir, upstream):
    if name == "upstream":
        return Direct("upstream", upstream.port, upstream.pids)
    if name == "nginx-hop":
        return NginxHop(workdir, upstream.port, workers=2)
    if name == "bare-tornado":
        return bare_forwarder(workdir, upstream.port)
    if name.startswith("tollgate-"):
        return Tollgate(workdir, upstream.port, workers=int(name.split("-")[1].rstrip("w")))
    if name == "litellm":
        return LiteLLM(workdir, upstream.port)
    raise SystemExit(f"unknown target {name}")


def why_skipped(name) -> str:
    if name == "tollgate-2w" and not workers_supported():
        return "not available: server.py has no --workers yet"
    if name == "litellm":
        return litellm_available()
    return ""


async def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # stop every child on the way out
    plan = {"modes": [m == "stream" for m in args.modes.split(",")],
            "concurrency": [int(c) for c in args.concurrency.split(",")]}
    names = [n for n in TARGETS if n in args.only.split(",")]
    plan["deadline"] = time.monotonic() + args.budget
    workdir = tempfile.mkdtemp(prefix="tollgate-bench-")
    os.environ["BENCH_WORKDIR"] = workdir
    began = time.monotonic()
    print(report.machine_line(), flush=True)
    upstream = Nginx(workdir, "upstream", lambda prefix, port: upstream_conf(prefix, port, workers=2)).start()
    rows, notes, money = [], [], []
    try:
        for name in names:
            reason = why_skipped(name)
            if reason:
                notes.append(f"{name}: skipped, {reason}")
                print(f"== {name}: skipped, {reason}", flush=True)
                rows.append((name, None, None, Result(skipped=reason)))
                continue
            target = build_target(name, workdir, upstream)
            print(f"== {name}: starting", flush=True)
            try:
                target.start()
                if isinstance(target, Tollgate):
                    target.mark()
                await run_target(target, upstream, plan, args, rows, notes)
                if isinstance(target, Tollgate):
                    wait_idle(target.cpu_groups, timeout=120)
                    check = target.money_check()
                    money.append((name, check))
                    print(report.money_line(name, check), flush=True)
            except Exception as exc:     # one target that cannot run must not cost the others
                notes.append(f"{name}: failed: {exc}")
                print(f"== {name}: failed: {exc}", flush=True)
                rows.append((name, None, None, Result(skipped=f"failed: {str(exc).splitlines()[0][:120]}")))
            finally:
                target.stop()
    finally:
        upstream.stop()
    elapsed = time.monotonic() - began
    text = report.render(rows, money, notes, args, elapsed)
    print("\n" + text)
    if not args.no_record:
        report.record(text)
        print("appended to bench/RESULTS.md")
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if any(not check["ok"] for _, check in money):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
