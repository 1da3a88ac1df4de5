"""`python server.py` on the embedded database: root exists, keys and sessions survive a restart, and
the embedded database stops with the server."""
import os
import socket

from services.embedded_mongo import free_port
from tests.process import ServerProcess


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(data_dir):
    server = ServerProcess(free_port(), data_dir)
    server.wait_for("listening on")
    return server


def test_start_login_restart_and_stop(tmp_path):
    server = start(tmp_path)
    status, headers, body = server.call("/api/user/login", {"username": "root", "password": "123456"})
    assert status == 200 and body["data"]["role"] == 100
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    status, _, body = server.call("/api/token/", {"name": "cli", "unlimited_quota": True}, {"Cookie": cookie})
    key = body["data"]["key"]
    [line] = server.wait_for("embedded database started on port")
    embedded = int(line.split("on port ")[1].split()[0])
    assert server.stop() == 0
    assert not port_open(embedded)                 # the embedded database stopped with the server
    assert os.path.exists(tmp_path / "session_secret")

    server = start(tmp_path)
    try:
        assert server.call("/api/user/self", headers={"Cookie": cookie})[0] == 200
        assert server.call("/v1/models", headers={"Authorization": f"Bearer {key}"})[0] == 200
        status, _, body = server.call("/api/user/login", {"username": "root", "password": "123456"})
        assert status == 200    # the root user was not created twice
    finally:
        assert server.stop() == 0


def test_two_workers_start_together_on_an_empty_database(tmp_path):
    server = ServerProcess(free_port(), tmp_path, args=["--workers", "2"])
    try:
        server.wait_for("listening on", count=2)      # neither worker died creating the root user
        status, _, body = server.call("/api/user/login", {"username": "root", "password": "123456"})
        assert status == 200 and body["data"]["role"] == 100
    finally:
        assert server.stop() == 0
