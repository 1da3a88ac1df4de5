"""The profiler's choice of processes (bench/profile.py) on real processes: a server's workers, never the
embedded database beside them, and the samples of several workers summed."""
import os
import signal
import subprocess
import sys
import types

from bench.procs import child_pids
from bench.profile import gateway_pids, summarise_all

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_with_workers_the_gateway_is_each_worker_and_not_the_database():
    # a parent with three children: two workers and the database
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        f"kids = [subprocess.Popen({SLEEPER!r}) for _ in range(3)]\n"
        "print(' '.join(str(k.pid) for k in kids), flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        kids = [int(pid) for pid in parent.stdout.readline().split()]
        assert child_pids(parent.pid) == sorted(kids)
        server = types.SimpleNamespace(workers=2, process=parent)
        assert gateway_pids(server, [kids[2]]) == sorted(kids[:2])
        assert gateway_pids(types.SimpleNamespace(workers=1, process=parent), [kids[2]]) == [parent.pid]
    finally:
        for pid in child_pids(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_the_samples_of_several_processes_are_summed(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("main (server.py:1);serve (server.py:2) 30\n")
    second.write_text("main (server.py:1);serve (server.py:2) 10\nmain (server.py:1) 10\n")
    summary = summarise_all([str(first), str(second), str(tmp_path / "missing.txt")])
    assert summary.startswith("50 samples") and "80.0%  serve (server.py)" in summary
    assert summarise_all([str(tmp_path / "missing.txt")]) == "py-spy wrote nothing"
