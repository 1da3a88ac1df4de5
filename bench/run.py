"""Tollgate's benchmark, one command (`make bench` or `python -m bench.run`): starts a fixed-response
upstream (nginx), an nginx proxy hop, a bare Tornado forwarder, Tollgate (1 and 2 workers, full key checks,
billing and logging on the embedded MongoDB) and LiteLLM's proxy, all on loopback; measures non-streaming and
streaming chat completions at several concurrencies; prints one table with ratios; checks the money after
each Tollgate run; appends the table to bench/RESULTS.md.

All targets are up at once and every cell (mode × concurrency) is measured on each target in turn, so the
ratios compare numbers taken minutes apart, not a whole run apart. The cells the targets' ratios are
taken from (chat at concurrency 50, and at 1 for the added latency) then run --rounds more times, target
after target, and each target's figure is the median of the rounds': a 3-s cell on a shared machine moves by
a quarter from one minute to the next. For scale, the bare forwarder also runs as 2 processes on one port in
the chat cell at concurrency 50 (only there): what two processes gain on this machine beside the load
generator and upstream, next to Tollgate's 2 workers ÷ 1. So does Tollgate with consumption logs off
(LogConsumeEnabled), 1 and 2 workers: its own 2 ÷ 1 without the embedded database's work, which with 1 worker
runs on the spare core and with 2 takes a share of the two the workers need. At the end one Tollgate process
holds --streams slow SSE streams at once (bench/streams.py)."""
import argparse
import math
import os
import shutil
import signal
import sys
import tempfile
import time

import uvloop

from bench import report
from bench.load import Result, measure, prime, request_body
from bench.nginx import start_upstream
from bench.procs import wait_idle
from bench.streams import run_streams_test, summary
from bench.targets import Direct, LiteLLM, NginxHop, bare_forwarder, litellm_available, litellm_version
from bench.tollgate import Tollgate, workers_supported

TARGETS = ["upstream", "nginx-hop", "bare-tornado", "bare-tornado-2p", "tollgate-1w", "tollgate-2w",
           "tollgate-1w-nolog", "tollgate-2w-nolog", "litellm"]
FOR_SCALE = ("bare-tornado-2p", "tollgate-1w-nolog", "tollgate-2w-nolog")
# The chat cells the targets compare, run again in each round: (concurrency, targets).
ROUND_CELLS = ((50, ("bare-tornado", "bare-tornado-2p", "tollgate-1w", "tollgate-2w", "tollgate-1w-nolog",
                     "tollgate-2w-nolog", "litellm")),
               (1, ("upstream", "tollgate-1w")))
# Targets measured in some cells only, (stream, concurrency); the others run every cell.
ONLY_CELLS = {name: {(False, 50)} for name in FOR_SCALE}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured run (default 3)")
    parser.add_argument("--max-seconds", type=int, default=12,
                        help="longest run for a slow target at high concurrency (default 12)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up before each run (default 1)")
    parser.add_argument("--concurrency", default="1,50,500", help="connection counts (default 1,50,500)")
    parser.add_argument("--only", default=",".join(TARGETS), help=f"targets to run (default {','.join(TARGETS)})")
    parser.add_argument("--modes", default="chat,stream", help="chat, stream or both (default both)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="extra rounds of the cells the targets compare (default 3; the whole run then "
                             "takes about 9 minutes on 2 cores)")
    parser.add_argument("--budget", type=int, default=540,
                        help="seconds after which the remaining runs are skipped (default 540)")
    parser.add_argument("--streams", type=int, default=5000,
                        help="slow SSE streams held at once by one Tollgate process at the end (default 5000, 0: skip)")
    parser.add_argument("--stream-chunks", type=int, default=300, help="chunks per slow stream (default 300)")
    parser.add_argument("--stream-interval", type=float, default=0.1,
                        help="seconds between the chunks of a slow stream (default 0.1)")
    parser.add_argument("--no-record", action="store_true", help="do not append the table to bench/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    return parser.parse_args(argv)


def cpu_groups(target, upstream):
    groups = getattr(target, "cpu_groups", None) or {"target": (target.pids, [])}
    if target.pids != upstream.pids:
        groups = {**groups, "upstream": (upstream.pids, [])}
    return groups


async def run_cell(target, upstream, stream, connections, args, state, everyone):
    """One (mode, concurrency) cell of one target. `state` carries, per target and mode, that its first
    request answered and its requests/s at concurrency 1 (which sizes the longer runs of slow targets).
    `everyone`: the processes of all targets, which must be idle first (a Tollgate run before this one
    writes its logs to its database for seconds after its run)."""
    body = request_body(target.model(stream), stream)
    key = (target.name, stream)
    if key not in state:
        status = prime(target.url(stream), body, target.key)
        if status != 200:
            raise RuntimeError(f"the first {'stream' if stream else 'chat'} request answered {status or 'nothing'}")
        state[key] = None
    single = state[key]
    groups = cpu_groups(target, upstream)
    seconds = args.seconds
    if single:     # long enough for each connection to finish a couple of requests, within a cap
        seconds = min(max(args.seconds, math.ceil(2 * connections / single)), args.max_seconds)
    note = "" if wait_idle(everyone, timeout=30) < 30 else \
        f"{target.name}: the targets were still busy 30 s after the last run, measured anyway"
    started = time.monotonic()
    result = await measure(target.url(stream), body, target.key, connections, seconds, stream, groups, args.warmup)
    if connections == 1:
        state[key] = result.rps
    print(report.progress_line(target.name, stream, connections, result, time.monotonic() - started), flush=True)
    return result, note


def measured_in(name, stream, connections) -> bool:
    return (stream, connections) in ONLY_CELLS.get(name, {(stream, connections)})


def everyone_of(targets, upstream):
    everyone = {target.name: (target.pids, []) for target in targets}
    everyone["upstream"] = (upstream.pids, [])
    return everyone


async def run_cells(targets, upstream, plan, args, rows, notes, state, failed):
    """Every cell, target after target: the targets are compared within minutes of each other, so a machine
    that slows down for a while does not skew one target against another."""
    everyone = everyone_of(targets, upstream)
    for stream in plan["modes"]:
        for connections in plan["concurrency"]:
            for target in targets:
                mode = "stream" if stream else "chat"
                if target.name in failed or not measured_in(target.name, stream, connections):
                    continue
                if time.monotonic() > plan["deadline"]:
                    notes.append(f"{target.name} {mode} c={connections}: skipped, the run's time budget "
                                 f"({args.budget} s) was spent")
                    continue
                try:
                    result, note = await run_cell(target, upstream, stream, connections, args, state, everyone)
                except Exception as exc:     # one target that cannot run must not cost the others
                    failed.add(target.name)
                    notes.append(f"{target.name}: failed: {exc}")
                    rows.append((target.name, None, None, Result(skipped=f"failed: {str(exc).splitlines()[0][:120]}")))
                    continue
                rows.append((target.name, stream, connections, result))
                if note:
                    notes.append(note)


async def run_rounds(targets, upstream, plan, args, notes, state, failed) -> list:
    """--rounds more runs of the chat cells the targets compare (ROUND_CELLS), target after target in each
    round: a list of {(target name, False, concurrency): Result}, one per round."""
    everyone, rounds = everyone_of(targets, upstream), []
    by_name = {target.name: target for target in targets}
    for number in range(args.rounds):
        if time.monotonic() > plan["deadline"]:
            notes.append(f"rounds: {number} of {args.rounds} run, the run's time budget was spent")
            break
        results = {}
        for connections, names in ROUND_CELLS:
            for target in (by_name[n] for n in names if n in by_name and n not in failed):
                try:
                    result, note = await run_cell(target, upstream, False, connections, args, state, everyone)
                except Exception as exc:
                    failed.add(target.name)
                    notes.append(f"{target.name}: failed in round {number + 2}: {exc}")
                    continue
                results[(target.name, False, connections)] = result
                if note:
                    notes.append(note)
        rounds.append(results)
    return rounds


def build_target(name, workdir, upstream):
    if name == "upstream":
        return Direct("upstream", upstream.port, upstream.pids)
    if name == "nginx-hop":
        return NginxHop(workdir, upstream.port, workers=2)
    if name == "bare-tornado":
        return bare_forwarder(workdir, upstream.port)
    if name == "bare-tornado-2p":
        return bare_forwarder(workdir, upstream.port, processes=2)
    if name.startswith("tollgate-"):
        return Tollgate(workdir, upstream.port, workers=int(name.split("-")[1].rstrip("w")),
                        consume_logs=not name.endswith("-nolog"))
    if name == "litellm":
        return LiteLLM(workdir, upstream.port)
    raise SystemExit(f"unknown target {name}")


def start_targets(names, workdir, upstream, rows, notes) -> list:
    """Every target up at once (the idle ones cost next to nothing), each Tollgate's balances noted."""
    targets = []
    for name in names:
        reason = why_skipped(name)
        target = None if reason else build_target(name, workdir, upstream)
        if target is not None:
            print(f"== {name}: starting", flush=True)
            try:
                target.start()
                if isinstance(target, Tollgate):
                    target.mark()
                if isinstance(target, LiteLLM):
                    notes.append(f"litellm: version {litellm_version()}")
                targets.append(target)
                continue
            except Exception as exc:
                target.stop()
                reason = f"failed: {str(exc).splitlines()[0][:120]}"
        notes.append(f"{name}: skipped, {reason}")
        print(f"== {name}: skipped, {reason}", flush=True)
        rows.append((name, None, None, Result(skipped=reason)))
    return targets


def why_skipped(name) -> str:
    if name.startswith("tollgate-2w") and not workers_supported():
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
    upstream = start_upstream(workdir)
    rows, notes, money, targets, rounds, streams_line = [], [], [], [], [], None
    try:
        targets = start_targets(names, workdir, upstream, rows, notes)
        state, failed = {}, set()
        await run_cells(targets, upstream, plan, args, rows, notes, state, failed)
        if False in plan["modes"]:
            rounds = await run_rounds(targets, upstream, plan, args, notes, state, failed)
        for target in targets:
            if isinstance(target, Tollgate) and target.consume_logs:   # no logs, nothing to compare
                wait_idle(target.cpu_groups, timeout=120)
                check = target.money_check()
                money.append((target.name, check))
                print(report.money_line(target.name, check), flush=True)
    finally:
        for target in targets:
            target.stop()
    try:
        if args.streams:
            streams = await run_streams_test(workdir, args.streams, args.stream_chunks, args.stream_interval)
            money.append(("tollgate-streams", streams.money))
            streams_line = summary(streams, args.stream_chunks, args.stream_interval)
            print("   " + streams_line, flush=True)
    except Exception as exc:
        notes.append(f"streams test: failed: {exc}")
    finally:
        upstream.stop()
    rows.sort(key=lambda row: (TARGETS.index(row[0]), row[1] is not None and row[1], row[2] or 0))
    elapsed = time.monotonic() - began
    text = report.render(rows, money, notes, args, elapsed, streams_line, rounds)
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
    uvloop.run(main())
