"""The embedded default database: nx-27017 (MongoDB's wire protocol on SQLite) as a child process.

Tollgate talks to it with the same driver over the wire as to a real MongoDB.
"""
import os
import socket
import subprocess
import sys
import time

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command() -> list:
    """nx-27017 as Tollgate runs it (see services/embedded_mongo_main.py), with this Python."""
    return [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "embedded_mongo_main.py")]


class EmbeddedMongo:
    def __init__(self, data_dir: str, port: int = 0):
        self.data_dir = os.path.abspath(data_dir)
        self.port = port or free_port()
        self.process = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30):
        db_dir = os.path.join(self.data_dir, "mongo")
        os.makedirs(db_dir, exist_ok=True)
        log_file = open(os.path.join(db_dir, "nx-27017.log"), "ab")
        self.process = subprocess.Popen(
            [*_command(), "--data-dir", db_dir, "--host", "127.0.0.1", "-p", str(self.port),
             "--log-file", os.path.join(db_dir, "nx-27017.log"),
             "--pid-file", os.path.join(db_dir, "nx-27017.pid")],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log_file.close()
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the embedded database exited with code {self.process.returncode}; "
                                   f"see {self.data_dir}/mongo/nx-27017.log")
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                return
            except PyMongoError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the embedded database did not answer in time") from None
                time.sleep(0.1)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
