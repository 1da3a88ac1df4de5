"""`python server.py` on the embedded database: root exists, keys and sessions survive a restart, and
the embedded database stops with the server."""
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

from services.embedded_mongo import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    def __init__(self, data_dir, port):
        env = {**os.environ, "DATA_DIR": str(data_dir)}
        env.pop("MONGODB_URI", None)
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port), "--log-dir", str(data_dir / "logs")],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        self.lines = []
        for line in self.process.stderr:           # wait for the line that says it listens
            self.lines.append(line)
            if "listening on" in line:
                return
        raise AssertionError("server exited: " + "".join(self.lines))

    def embedded_port(self):
        line = next(entry for entry in self.lines if "embedded database started on port" in entry)
        return int(line.split("on port ")[1].split()[0])

    def call(self, path, body=None, headers=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {},
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(30) == 0


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_start_login_restart_and_stop(tmp_path):
    server = Server(tmp_path, free_port())
    status, headers, body = server.call("/api/user/login", {"username": "root", "password": "123456"})
    assert status == 200 and body["data"]["role"] == 100
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    status, _, body = server.call("/api/token/", {"name": "cli", "unlimited_quota": True}, {"Cookie": cookie})
    key = body["data"]["key"]
    embedded = server.embedded_port()
    server.stop()
    assert not port_open(embedded)                 # the embedded database stopped with the server
    assert os.path.exists(tmp_path / "session_secret")

    server = Server(tmp_path, free_port())
    try:
        assert server.call("/api/user/self", headers={"Cookie": cookie})[0] == 200
        assert server.call("/v1/models", headers={"Authorization": f"Bearer {key}"})[0] == 200
        status, _, body = server.call("/api/user/login", {"username": "root", "password": "123456"})
        assert status == 200    # the root user was not created twice
    finally:
        server.stop()
