"""Dashboards over a full log: how long each dashboard request takes when the embedded database holds a
week of consumption entries, and what the relay serves meanwhile (a query the embedded database answers
in Python, entry by entry, takes a core the relay would use).

Run: python -m bench.dashboards [--logs 200000]"""
import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time

from pymongo import MongoClient

from bench.load import request_body, run_wrk, write_script
from bench.nginx import Nginx, upstream_conf
from bench.tollgate import Api, Tollgate

DAY = 86400
RELAY_CONNECTIONS = 10
RELAY_SECONDS = 8


def fill(tollgate, count):
    """`count` consumption entries spread over the last week: a quarter the benchmark user's, the rest
    fifty others', five models, two channels."""
    logs = MongoClient(f"mongodb://127.0.0.1:{tollgate.db_port}/").tollgate.logs
    now, step = int(time.time()), 7 * DAY // count
    for start in range(0, count, 5000):
        logs.insert_many([{
            "type": 2, "created_at": now - (count - i) * step,
            "user_id": tollgate.user_id if i % 4 == 0 else 1000 + i % 50,
            "username": "bench" if i % 4 == 0 else f"user{i % 50}", "token_id": tollgate.token_id,
            "token_name": "bench", "content": "model ratio 15, completion ratio 1, group ratio 1", "quota": 3,
            "model_name": f"model-{i % 5}", "channel_id": 1 + i % 2, "prompt_tokens": 9, "completion_tokens": 9,
            "request_id": f"fill{i:012x}", "ip": "127.0.0.1", "is_stream": False, "group": "default",
        } for i in range(start, min(count, start + 5000))], ordered=False)


def requests_of(tollgate, root):
    day_ago = int(time.time()) - DAY
    admin = [f"/api/log/?p=1&page_size=10{extra}" for extra in
             ("", "&type=2", f"&start_timestamp={day_ago}", "&model_name=model-1", "&username=bench",
              "&keyword=ratio")]
    admin += ["/api/log/stat?type=2", "/api/dashboard/overview"]
    user = ["/api/log/self?p=1&page_size=10", "/api/log/self/stat?type=2", "/api/user/dashboard?days=7",
            "/api/user/dashboard?days=30"]
    return [(root, path) for path in admin] + [(tollgate.user_api, path) for path in user]


def timed(api, path, rounds=3) -> float:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        status, _ = api.call(path)
        seconds.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
    return statistics.median(seconds)


async def relay_latency(tollgate, workdir, busy=None) -> dict:
    """The relay at low concurrency, alone or while `busy` requests are asked again and again."""
    body = request_body(tollgate.model(False), False)
    script = write_script(os.path.join(workdir, "wrk.lua"), body, tollgate.key)
    stop = threading.Event()
    loop = threading.Thread(target=_repeat, args=(busy, stop), daemon=True) if busy else None
    if loop:
        loop.start()
    summary, _, _ = await run_wrk(tollgate.url(False), script, RELAY_CONNECTIONS, RELAY_SECONDS)
    stop.set()
    if loop:
        loop.join()
    return {"rps": summary["requests"] / (summary["duration_us"] / 1e6), "p50": summary["p50"] / 1000,
            "p99": summary["p99"] / 1000, "max": summary["max"] / 1000,
            "errors": sum(summary[k] for k in ("connect", "read", "write", "status", "timeout"))}


def _repeat(requests, stop):
    """Ask the requests in turn until `stop` is set."""
    while not stop.is_set():
        for api, path in requests:
            if stop.is_set():
                break
            timed(api, path, 1)


async def main(args):
    workdir = tempfile.mkdtemp(prefix="tollgate-dashboards-")
    os.environ["BENCH_WORKDIR"] = workdir
    upstream = Nginx(workdir, "upstream", lambda prefix, port: upstream_conf(prefix, port, workers=1)).start()
    tollgate = Tollgate(workdir, upstream.port)
    try:
        tollgate.start()
        started = time.perf_counter()
        fill(tollgate, args.logs)
        print(f"{args.logs:,} consumption entries over 7 days written in {time.perf_counter() - started:.0f} s\n")
        root = Api(f"http://127.0.0.1:{tollgate.port}").login("root", "123456")
        requests = requests_of(tollgate, root)
        print("| request | seconds (median of 3) |\n|---|---:|")
        for api, path in requests:
            print(f"| {'admin' if api is root else 'user'} GET {path} | {timed(api, path):.3f} |", flush=True)
        alone = await relay_latency(tollgate, workdir)
        busy = await relay_latency(tollgate, workdir, requests)
        print(f"\nrelay at concurrency {RELAY_CONNECTIONS}, {RELAY_SECONDS} s each (ms):\n"
              "| | req/s | p50 | p99 | max | errors |\n|---|---:|---:|---:|---:|---:|")
        for name, result in (("alone", alone), ("while the requests above run in a loop", busy)):
            print(f"| {name} | {result['rps']:,.0f} | {result['p50']:.2f} | {result['p99']:.2f} | "
                  f"{result['max']:,.0f} | {result['errors']} |")
    finally:
        tollgate.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.dashboards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=200_000, help="consumption entries to fill in (200,000)")
    asyncio.run(main(parser.parse_args()))
