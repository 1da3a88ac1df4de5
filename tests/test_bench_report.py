"""The bench's verdicts: the figures compared across targets are medians over the rounds, each round's
figure taken from cells of that round only."""
from bench.load import Result
from bench.report import targets


def _chat(rps, p50_ms=1.0):
    return Result(requests=int(rps * 3), seconds=3, p50_ms=p50_ms)


def _round(one_worker, two_workers, bare=1000, litellm=50, added_ms=0.5):
    return {("tollgate-1w", False, 50): _chat(one_worker), ("tollgate-2w", False, 50): _chat(two_workers),
            ("bare-tornado", False, 50): _chat(bare), ("litellm", False, 50): _chat(litellm),
            ("tollgate-1w", False, 1): _chat(500, 0.2 + added_ms), ("upstream", False, 1): _chat(9000, 0.2)}


def _verdicts(cells, rounds):
    return {line.split(":")[0][2:]: line for line in targets(cells, rounds)}


def test_each_ratio_is_the_median_of_the_rounds_ratios():
    cells = _round(1000, 1300)                                   # one slow cell of 2 workers: 1.3×
    rounds = [_round(1000, 1700), _round(800, 1360), _round(1200, 1500)]   # 1.7×, 1.7×, 1.25×
    verdicts = _verdicts(cells, rounds)
    line = verdicts["chat c=50 2 workers ÷ 1 worker"]
    assert "1.50× (median of 4 rounds: 1.30×, 1.70×, 1.70×, 1.25×)" in line and line.endswith("NOT met")
    rounds.append(_round(1000, 1800))                             # a fifth round: the median is 1.70×
    assert _verdicts(cells, rounds)["chat c=50 2 workers ÷ 1 worker"].endswith("1.70×, 1.25×, 1.80×) (goal ≥ 1.6×): met")


def test_ratios_pair_cells_of_the_same_round():
    # Paired by round, 1 worker serves 80 % of the forwarder each time; pooled medians would say 50 %.
    cells = _round(800, 1600, bare=1000)
    rounds = [_round(400, 800, bare=500), _round(1600, 3200, bare=2000)]
    line = _verdicts(cells, rounds)["chat c=50 req/s ÷ bare Tornado forwarder"]
    assert "80% (median of 3 rounds: 80%, 80%, 80%)" in line and line.endswith("met")


def test_added_latency_and_a_target_never_measured():
    cells = _round(1000, 1700, added_ms=1.4)
    del cells[("litellm", False, 50)]
    verdicts = _verdicts(cells, [_round(1000, 1700, added_ms=0.6), _round(1000, 1700, added_ms=0.8)])
    assert "0.80 ms (median of 3 rounds: 1.40 ms, 0.60 ms, 0.80 ms) (goal ≤ 1 ms): met" in verdicts["chat c=1 added p50"]
    assert verdicts["chat c=50 req/s ÷ LiteLLM"].endswith("(median of 2 rounds: 20.0×, 20.0×) (goal ≥ 20×): met")
    assert targets(cells, [])[0] == "- chat c=50 req/s ÷ LiteLLM: – (goal ≥ 20×): not measured"


def test_the_bare_forwarders_own_two_process_ratio_is_shown_for_scale_only():
    cells = _round(1000, 1500)
    assert not any("for scale" in line for line in targets(cells, []))      # not measured: no line
    cells[("bare-tornado-2p", False, 50)] = _chat(1700)
    rounds = [_round(1000, 1500, bare=1000), _round(1000, 1500, bare=800)]
    rounds[0][("bare-tornado-2p", False, 50)] = _chat(1800)
    rounds[1][("bare-tornado-2p", False, 50)] = _chat(1200)
    [line] = [line for line in targets(cells, rounds) if "for scale" in line]
    assert line == ("- for scale (not a target): chat c=50 bare forwarder, 2 processes ÷ 1: 1.70× "
                    "(median of 3 rounds: 1.70×, 1.80×, 1.50×)")
    assert "goal" not in line and "met" not in line


def test_tollgates_own_two_worker_ratio_without_consumption_logs_is_shown_for_scale_only():
    cells = _round(1000, 1500)
    cells[("tollgate-1w-nolog", False, 50)] = _chat(1000)
    cells[("tollgate-2w-nolog", False, 50)] = _chat(1600)
    rounds = [_round(1000, 1500), _round(1000, 1500)]
    rounds[0][("tollgate-1w-nolog", False, 50)] = _chat(1000)
    rounds[0][("tollgate-2w-nolog", False, 50)] = _chat(1700)
    rounds[1][("tollgate-1w-nolog", False, 50)] = _chat(900)   # its 2-worker cell failed in this round
    [line] = [line for line in targets(cells, rounds) if "for scale" in line]
    assert line == ("- for scale (not a target): chat c=50 Tollgate with consumption logs off (no writes to the "
                    "embedded database), 2 workers ÷ 1: 1.65× (median of 2 rounds: 1.60×, 1.70×)")
    verdicts = [line for line in targets(cells, rounds) if "2 workers ÷ 1 worker" in line]
    assert verdicts == ["- chat c=50 2 workers ÷ 1 worker: 1.50× (median of 3 rounds: 1.50×, 1.50×, 1.50×) "
                        "(goal ≥ 1.6×): NOT met"]
