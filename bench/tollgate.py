"""Tollgate as a benchmark target: `server.py` on the embedded nx-27017 in a temporary DATA_DIR, set up
through the real /api (root logs in, creates the channels, a benchmark user and its key), and the money
check after its runs: the quota in the consumption logs equals what left the user and the key."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

from bench.nginx import MODEL, STREAM_MODEL
from bench.procs import free_port, stop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-1"
TOKEN_QUOTA = 10 ** 13
USER_QUOTA = 10 ** 14


def workers_supported() -> bool:
    out = subprocess.run([sys.executable, "server.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    return "--workers" in out.stdout


class Api:
    """JSON calls to /api with a session cookie."""

    def __init__(self, base):
        self.base = base
        self.cookie = ""

    def call(self, path, method="GET", body=None):
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                cookie = response.headers.get("Set-Cookie")
                if cookie and path.endswith("/login"):
                    self.cookie = cookie.split(";", 1)[0]
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, path, method="GET", body=None):
        status, answer = self.call(path, method, body)
        if status != 200 or not answer.get("success"):
            raise RuntimeError(f"{method} {path} failed: {status} {answer}")
        return answer.get("data")

    def login(self, username, password):
        self.ok("/api/user/login", "POST", {"username": username, "password": password})
        return self


class Tollgate:
    def __init__(self, workdir, upstream_port, workers=1, name=None, env=None, consume_logs=True):
        self.name = name or f"tollgate-{workers}w" + ("" if consume_logs else "-nolog")
        self.workers = workers
        self.consume_logs = consume_logs   # False: LogConsumeEnabled off, no log entry per request
        self.env = env or {}
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.upstream_port = upstream_port
        self.process = None
        self.db_port = None
        self.user_id = None
        self.token_id = None
        self.key = None
        self.user_api = None
        self.before = None
        self._log_start = 0

    # Start-up and set-up ------------------------------------------------------------------------
    def start(self):
        self._launch()
        self._set_up()
        if self.workers > 1:
            # Without Redis, a channel created through one worker reaches the others only at their next
            # sync (SYNC_FREQUENCY); a restart has every worker load it at once.
            stop(self.process, 60)
            self._launch()
        return self

    def _launch(self):
        env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "REDIS_CONN_STRING")}
        env.update(DATA_DIR=os.path.join(self.dir, "data"), GLOBAL_API_RATE_LIMIT="0", **self.env)
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        with open(self.stderr_path, "a") as err:
            start = err.tell()
            self.process = subprocess.Popen(
                [sys.executable, "server.py", "--port", str(self.port), "--log-dir", os.path.join(self.dir, "logs"),
                 "--workers", str(self.workers)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        self._log_start = start
        self._wait_log(r"listening on", self.workers, 90)
        self.db_port = int(re.search(r"embedded database started on port (\d+)", self._log()).group(1))

    def _log(self):
        """What the server wrote since its last launch."""
        with open(self.stderr_path, errors="replace") as f:
            f.seek(self._log_start)
            return f.read()

    def _wait_log(self, pattern, count, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self._log())) >= count:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n{self._log()[-3000:]}")

    def _set_up(self):
        base = f"http://127.0.0.1:{self.port}"
        root = Api(base).login("root", "123456")
        if not self.consume_logs:
            root.ok("/api/option/", "PUT", {"key": "LogConsumeEnabled", "value": "false"})
        for name, model, path in (("bench-json", MODEL, "json"), ("bench-sse", STREAM_MODEL, "sse")):
            root.ok("/api/channel/", "POST", {
                "name": name, "type": 1, "key": "sk-bench-upstream", "models": model, "group": "default",
                "base_url": f"http://127.0.0.1:{self.upstream_port}/{path}"})
        self.user_api = self._bench_user(root, base)
        created = self.user_api.ok("/api/token/", "POST", {
            "name": "bench", "remain_quota": TOKEN_QUOTA, "unlimited_quota": False, "expired_time": -1})
        self.token_id, self.key = created["id"], created["key"]
        self.user_id = self.user_api.ok("/api/user/self")["id"]

    @staticmethod
    def _bench_user(root, base):
        """A registered user funded by root through the admin user API; root itself when that API is absent."""
        status, _ = root.call("/api/user/register", "POST", {"username": BENCH_USER, "password": BENCH_PASSWORD})
        if status == 200:
            user = Api(base).login(BENCH_USER, BENCH_PASSWORD)
            me = user.ok("/api/user/self")
            status, answer = root.call("/api/user/", "PUT", {**me, "quota": USER_QUOTA, "password": ""})
            if status == 200 and (answer or {}).get("success") and user.ok("/api/user/self")["quota"] > 0:
                return user
        return root

    # Money -------------------------------------------------------------------------------------
    def balances(self):
        me = self.user_api.ok("/api/user/self")
        token = self.user_api.ok(f"/api/token/{self.token_id}")
        return {"user_quota": me["quota"], "user_used": me["used_quota"],
                "token_remain": token["remain_quota"], "token_used": token["used_quota"]}

    def mark(self):
        self.before = self.balances()

    def money_check(self, timeout=90) -> dict:
        """Once every bill is settled, compare the logs with the balances. /api/user/self serves the user
        from Tollgate's short-lived cache, where an entry may be served for up to twice TOKEN_CACHE_SECONDS
        (the second half while it is read again), so balances count as final when two reads that far apart
        agree: closer reads can both get the entry read while the last bills were still being recorded."""
        lifetime = 2 * int(os.environ.get("TOKEN_CACHE_SECONDS", "5")) + 1
        deadline = time.monotonic() + timeout
        last = self.balances()
        while time.monotonic() < deadline:
            time.sleep(lifetime)
            now = self.balances()
            if now == last:
                break
            last = now
        logged, count = self._logged_quota()
        before, after = self.before, last
        taken = {"user": before["user_quota"] - after["user_quota"],
                 "user_used": after["user_used"] - before["user_used"],
                 "token": before["token_remain"] - after["token_remain"],
                 "token_used": after["token_used"] - before["token_used"]}
        ok = all(v == logged for v in taken.values())
        return {"ok": ok, "logged": logged, "logs": count, **taken}

    def _logged_quota(self):
        """Σ quota of this user's consumption logs, summed by MongoDB itself."""
        from pymongo import MongoClient
        with MongoClient(f"mongodb://127.0.0.1:{self.db_port}/", serverSelectionTimeoutMS=10000) as client:
            db = client[os.environ.get("MONGODB_DB", "tollgate")]
            rows = list(db.logs.aggregate([
                {"$match": {"user_id": self.user_id, "type": 2}},
                {"$group": {"_id": None, "quota": {"$sum": "$quota"}, "n": {"$sum": 1}}}]))
        return (rows[0]["quota"], rows[0]["n"]) if rows else (0, 0)

    # Targets -----------------------------------------------------------------------------------
    def url(self, stream):
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def model(self, stream):
        return STREAM_MODEL if stream else MODEL

    @property
    def pids(self):
        return [self.process.pid]

    def stop(self):
        stop(self.process, 60)

    @property
    def cpu_groups(self):
        """The gateway's processes and the embedded database, counted apart."""
        db = []
        try:
            with open(os.path.join(self.dir, "data", "mongo", "nx-27017.pid")) as f:
                db = [int(f.read().strip())]
        except (OSError, ValueError):
            pass
        return {"gateway": (self.pids, db), "db": (db, [])}
