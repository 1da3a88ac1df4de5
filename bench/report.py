"""The bench's output: progress lines, the table with ratios, the money checks, bench/RESULTS.md."""
import datetime
import os
import platform
import statistics

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


def render(rows, money, notes, args, elapsed, streams_line=None, rounds=()) -> str:
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
    lines += _rounds_table(rounds)
    lines += ["", "Targets (1 worker unless named):"] + targets(cells, rounds)
    if streams_line:
        lines.append(f"- scale of streams: {streams_line}")
    if money:
        lines += ["", "Money after each Tollgate run:"] + [f"- {money_line(n, c).strip()}" for n, c in money]
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _rounds_table(rounds) -> list:
    """The extra rounds of the compared cells: requests/s (and p50 at concurrency 1) of each per round."""
    keys = sorted({key for results in rounds for key in results}, key=lambda key: (-key[2], key[0]))
    if not keys:
        return []
    lines = ["", f"The compared chat cells, {len(rounds)} more rounds (each target in turn per round; "
                 "req/s, and p50 ms at c=1):", "",
             "| round | " + " | ".join(f"{name} c={connections}" for name, _, connections in keys) + " |",
             "|---:|" + "---:|" * len(keys)]
    for number, results in enumerate(rounds, 2):
        cells = [_round_cell(results.get(key), key[2]) for key in keys]
        lines.append(f"| {number} | " + " | ".join(cells) + " |")
    return lines


def _round_cell(result, connections) -> str:
    if result is None:
        return "–"
    return f"{result.rps:,.0f}" + (f" / {result.p50_ms:.2f}" if connections == 1 else "")


def median_of(cells, rounds, figure):
    """The median over the rounds (the table's cells are round 1) of `figure(round's cells)`, with each round's
    figure; rounds where it cannot be had (None) are left out."""
    values = [v for v in (figure(results) for results in [cells, *rounds]) if v is not None]
    return (statistics.median(values) if values else None), values


def _chat_ratio(name, base, connections=50):
    def figure(results):
        a, b = results.get((name, False, connections)), results.get((base, False, connections))
        return a.rps / b.rps if a and b and b.rps else None
    return figure


def _added_p50(results):
    a, b = results.get(("tollgate-1w", False, 1)), results.get(("upstream", False, 1))
    return a.p50_ms - b.p50_ms if a and b else None


def targets(cells, rounds=()) -> list:
    """The performance targets, each with the measured value and met / not met / not measured. The figures
    taken from chat cells are medians over the rounds."""
    def line(text, shown, goal, met):
        verdict = "not measured" if shown is None else ("met" if met else "NOT met")
        return f"- {text}: {'–' if shown is None else shown} (goal {goal}): {verdict}"

    def row(text, figure, goal, shown, met):
        value, values = median_of(cells, rounds, figure)
        if value is None:
            return line(text, None, goal, False)
        each = f" (median of {len(values)} rounds: {', '.join(shown(v) for v in values)})" if len(values) > 1 else ""
        return line(text, shown(value) + each, goal, met(value))

    st500 = cells.get(("tollgate-1w", True, 500))
    return [
        row("chat c=50 req/s ÷ LiteLLM", _chat_ratio("tollgate-1w", "litellm"), "≥ 20×", "{:.1f}×".format,
            lambda v: v >= 20),
        row("chat c=50 req/s ÷ bare Tornado forwarder", _chat_ratio("tollgate-1w", "bare-tornado"), "≥ 80%",
            "{:.0%}".format, lambda v: v >= 0.8),
        row("chat c=1 added p50", _added_p50, "≤ 1 ms", "{:.2f} ms".format, lambda v: v <= 1),
        line("stream c=500 errors", st500 and str(st500.errors), "0", st500 and st500.errors == 0),
        row("chat c=50 2 workers ÷ 1 worker", _chat_ratio("tollgate-2w", "tollgate-1w"), "≥ 1.6×",
            "{:.2f}×".format, lambda v: v >= 1.6),
    ] + _for_scale(cells, rounds)


# Beside the 2-worker target, for scale: what a second process gains in the same run (name, base, what).
SCALE_PAIRS = (("bare-tornado-2p", "bare-tornado", "bare forwarder, 2 processes ÷ 1"),
               ("tollgate-2w-nolog", "tollgate-1w-nolog",
                "Tollgate with consumption logs off (no writes to the embedded database), 2 workers ÷ 1"))


def _for_scale(cells, rounds) -> list:
    lines = []
    for name, base, what in SCALE_PAIRS:
        value, values = median_of(cells, rounds, _chat_ratio(name, base))
        if value is not None:
            each = ", ".join(f"{v:.2f}×" for v in values)
            lines.append(f"- for scale (not a target): chat c=50 {what}: {value:.2f}× "
                         f"(median of {len(values)} rounds: {each})")
    return lines


def record(text):
    new = not os.path.exists(RESULTS)
    with open(RESULTS, "a") as f:
        if new:
            f.write("# Benchmark results\n\nEach run of `make bench` (`python -m bench.run`) appends its table here.\n\n")
        f.write(text + "\n")
