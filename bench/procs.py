"""Child processes of the bench: free ports, waiting until a port answers, CPU time of a process tree."""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float, name: str):
    """Block until something accepts connections on the port; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before it listened on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on {port} within {timeout:.0f} s")


def wait_for_http(url: str, process: subprocess.Popen, timeout: float, name: str):
    """Block until GET `url` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not ready within {timeout:.0f} s")


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])   # ppid, utime + stime


def _process_table():
    """({pid: (ppid, CPU ticks)}, {pid: [child pids]}) of every process now running."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stats[int(name)] = _stat(name)
            except (OSError, IndexError, ValueError):
                pass
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    return stats, children


def child_pids(pid: int) -> list:
    return sorted(_process_table()[1].get(pid, []))


def tree_cpu_seconds(root_pids, exclude=()) -> float:
    """CPU seconds used so far by the given processes and all their descendants (less the excluded trees)."""
    stats, children = _process_table()
    total, todo, seen = 0, list(root_pids), set(exclude)
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total / CLOCK_TICKS


def stop(process: subprocess.Popen, timeout: float = 30):
    """SIGTERM, then SIGKILL if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_idle(groups, timeout=90, window=0.5, threshold=0.05) -> float:
    """Block until the processes in `groups` ({name: (pids, exclude)}) use under `threshold` cores over a
    `window`: the work a run left queued (settling, logs) is done before the next run or check.
    Returns the seconds waited."""
    started = time.monotonic()
    pids = [pid for pid_list, _ in groups.values() for pid in pid_list]
    before = tree_cpu_seconds(pids)
    while time.monotonic() - started < timeout:
        time.sleep(window)
        after = tree_cpu_seconds(pids)
        if (after - before) / window < threshold:
            break
        before = after
    return time.monotonic() - started
