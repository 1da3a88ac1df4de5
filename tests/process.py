"""Running `server.py` as a real child process in a test, reading its log lines as they come."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ServerProcess:
    def __init__(self, port, data_dir, env=None, args=()):
        full_env = {**os.environ, "DATA_DIR": str(data_dir), **(env or {})}
        if "MONGODB_URI" not in (env or {}):
            full_env.pop("MONGODB_URI", None)
        self.port = port
        self.log_dir = os.path.join(str(data_dir), "logs")
        self.lines = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port), "--log-dir", self.log_dir, *args], cwd=ROOT, env=full_env, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append(None)       # end of output
            self._changed.notify_all()

    def wait_for(self, pattern, count=1, timeout=60):
        """Block until `count` log lines match `pattern`; returns them. Fails if the process ends first."""
        regex = re.compile(pattern)
        with self._changed:
            def found():
                hits = [line for line in self.lines if line and regex.search(line)]
                return hits if len(hits) >= count or None in self.lines else None
            hits = self._changed.wait_for(found, timeout)
        assert hits and len(hits) >= count, f"never saw {pattern!r}:\n" + "".join(l for l in self.lines if l)
        return hits

    def access_lines(self) -> list:
        """The lines of access.log (written once a second and when each process stops)."""
        with open(os.path.join(self.log_dir, "access.log"), encoding="utf-8") as f:
            return f.read().splitlines()

    def call(self, path, body=None, headers=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {},
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout=60):
        if self.process.poll() is None:
            self.terminate()
        return self.process.wait(timeout)
