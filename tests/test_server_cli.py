"""server.py's command line: --version and --help answer without starting anything."""
import os
import subprocess
import sys

from conf.settings import VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, "server.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_version():
    result = run("--version")
    assert result.returncode == 0 and VERSION in result.stdout


def test_help_lists_flags_and_settings():
    result = run("--help")
    assert result.returncode == 0
    for word in ("--port", "--log-dir", "--version", "MONGODB_URI", "SESSION_SECRET"):
        assert word in result.stdout


def test_a_bad_setting_stops_start_up_with_a_clear_message():
    result = subprocess.run([sys.executable, "server.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PORT": "not-a-port"})
    assert result.returncode != 0 and "PORT" in result.stderr
