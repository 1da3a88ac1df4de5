"""The bench's output: progress lines, the table with ratios, the money checks, bench/RESULTS.md."""
import datetime
import os
import platform

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def machine_line() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average now {load}")


def _mode(stream):
    return "stream" if stream else "chat"


def _cpu_text(result) -> str:
    parts = [f"{name} {value:.2f}" for name, value in result.cpu.items()]
    parts.append(f"wrk {result.wrk_cpu:.2f}")
    if result.ttfb_samples:
        parts.append(f"probe {result.probe_cpu:.2f}")
    return ", ".join(parts)


def progress_line(name, stream, connections, result, wall) -> str:
    ttfb = f" ttfb p50 {result.ttfb_p50_ms:.2f} ms" if result.ttfb_samples else ""
    errors = f" errors {result.errors} ({result.error_detail})" if result.errors else ""
    return (f"   {name:13} {_mode(stream):6} c={connections:<4} {result.rps:9.0f} req/s  p50 {result.p50_ms:8.2f} ms"
            f"  p99 {result.p99_ms:8.2f} ms{ttfb}{errors}  [cpu: {_cpu_text(result)}] ({wall:.1f} s)")


def money_line(name, check) -> str:
    verdict = "OK" if check["ok"] else "MISMATCH"
    return (f"   money {name}: {verdict}: Σ logged quota {check['logged']} over {check['logs']} logs; taken from "
            f"user {check['user']} (used_quota +{check['user_used']}), from key {check['token']} "
            f"(used_quota +{check['token_used']})")


def _ratio(value, base):
    return f"{value / base:.2f}×" if base else "–"


def render(rows, money, notes, args, elapsed, streams_line=None) -> str:
    cells = {(n, s, c): r for n, s, c, r in rows if s is not None}
    lines = [f"## {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}", "", machine_line(),
             f"each cell: {args.warmup:g} s warm-up, wait until idle, then {args.seconds:g} s of wrk (slow targets: "
             f"long enough for 2 answers per connection, at most {args.max_seconds} s); every target runs each "
             f"cell before the next cell starts; whole run {elapsed:.0f} s", "",
             "| target | mode | conc | req/s | p50 ms | p99 ms | errors | TTFB p50 / p99 ms | req/s ÷ upstream "
             "| req/s ÷ LiteLLM | p50 added ms | answers / s | CPU cores used |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, stream, connections, result in rows:
        if stream is None:
            lines.append(f"| {name} | – | – | {result.skipped} | | | | | | | | | |")
            continue
        base = cells.get(("upstream", stream, connections))
        peer = cells.get(("litellm", stream, connections))
        ttfb = (f"{result.ttfb_p50_ms:.2f} / {result.ttfb_p99_ms:.2f} (n={result.ttfb_samples})"
                if result.ttfb_samples else "")
        added = f"{result.p50_ms - base.p50_ms:+.2f}" if base and name != "upstream" else ""
        errors = f"{result.errors} ({result.error_detail})" if result.errors else "0"
        lines.append(
            f"| {name} | {_mode(stream)} | {connections} | {result.rps:,.0f} | {result.p50_ms:.2f} | "
            f"{result.p99_ms:.2f} | {errors} | {ttfb} | {_ratio(result.rps, base.rps if base else 0)} | "
            f"{_ratio(result.rps, peer.rps if peer else 0)} | {added} | {result.requests:,} / {result.seconds:.0f} | "
            f"{_cpu_text(result)} |")
    lines += ["", "Targets (1 worker unless named):"] + targets(cells)
    if streams_line:
        lines.append(f"- scale of streams: {streams_line}")
    if money:
        lines += ["", "Money after each Tollgate run:"] + [f"- {money_line(n, c).strip()}" for n, c in money]
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def targets(cells) -> list:
    """The performance targets, each with the measured value and met / not met / not measured."""
    def get(name, stream, connections):
        return cells.get((name, stream, connections))

    def row(text, value, goal, met):
        verdict = "not measured" if value is None else ("met" if met else "NOT met")
        return f"- {text}: {'–' if value is None else value} (goal {goal}): {verdict}"

    tg, peer, bare = get("tollgate-1w", False, 50), get("litellm", False, 50), get("bare-tornado", False, 50)
    up1, tg1 = get("upstream", False, 1), get("tollgate-1w", False, 1)
    st500, tg2 = get("tollgate-1w", True, 500), get("tollgate-2w", False, 50)
    out = []
    ratio = tg.rps / peer.rps if tg and peer and peer.rps else None
    out.append(row("chat c=50 req/s ÷ LiteLLM", ratio and f"{ratio:.1f}×", "≥ 20×", ratio and ratio >= 20))
    ratio = tg.rps / bare.rps if tg and bare and bare.rps else None
    out.append(row("chat c=50 req/s ÷ bare Tornado forwarder", ratio and f"{ratio:.0%}", "≥ 80%",
                   ratio and ratio >= 0.8))
    added = tg1.p50_ms - up1.p50_ms if tg1 and up1 else None
    out.append(row("chat c=1 added p50", added is not None and f"{added:.2f} ms", "≤ 1 ms",
                   added is not None and added <= 1))
    out.append(row("stream c=500 errors", st500 and st500.errors, "0", st500 and st500.errors == 0))
    ratio = tg2.rps / tg.rps if tg and tg2 and tg.rps else None
    out.append(row("chat c=50 2 workers ÷ 1 worker", ratio and f"{ratio:.2f}×", "≥ 1.6×", ratio and ratio >= 1.6))
    return out


def record(text):
    new = not os.path.exists(RESULTS)
    with open(RESULTS, "a") as f:
        if new:
            f.write("# Benchmark results\n\nEach run of `make bench` (`python -m bench.run`) appends its table here.\n\n")
        f.write(text + "\n")
