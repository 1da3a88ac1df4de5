"""Shared fixtures: one real nx-27017 server per session (or MONGODB_URI), and per test a database of
its own, the gateway built on the test's IOLoop, and a real local OpenAI-compatible upstream."""
import itertools
import os
import subprocess
import sys
import threading

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from conf.settings import load_settings  # noqa: E402
from handlers import make_app  # noqa: E402
from services.embedded_mongo import EmbeddedMongo, free_port  # noqa: E402
from services.event_loop import ParkingLoop  # noqa: E402
from services.runtime import build_services  # noqa: E402
from tests.client import GatewayClient  # noqa: E402
from tests.upstreams.openai_mock import MockState, make_mock_app  # noqa: E402

_db_names = itertools.count(1)


@pytest.fixture
def io_loop():
    """The test's IOLoop: the one server.py runs on (services/event_loop.py), with an asyncio loop of its own."""
    loop = ParkingLoop()
    loop.make_current()
    yield loop
    loop.clear_current()
    loop.close(all_fds=True)


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    server = EmbeddedMongo(str(tmp_path_factory.mktemp("mongo"))).start()
    yield server.uri
    server.stop()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("data"))


def serve(io_loop, app):
    """Start `app` on a free loopback port of the test's loop; returns (server, base URL)."""
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture
def settings_overrides():
    """Tests override settings by redefining this fixture (or parametrising through it)."""
    return {}


@pytest.fixture
def gateway(io_loop, mongo_uri, data_dir, settings_overrides):
    db_name = f"tollgate_test_{os.getpid()}_{next(_db_names)}"
    overrides = {"data_dir": data_dir, "mongodb_db": db_name, "token_cache_seconds": 0,
                 "session_secret": "test-secret", "global_api_rate_limit": 0, "critical_rate_limit": 0,
                 "global_web_rate_limit": 0, **settings_overrides}
    settings = load_settings(env={}, **overrides)
    services = io_loop.run_sync(lambda: build_services(settings, mongo_uri))
    server, url = serve(io_loop, make_app(services))
    client = GatewayClient(url, services)
    yield client

    async def teardown():
        server.stop()
        await server.close_all_connections()
        await services.db.client.drop_database(db_name)
        await services.close()

    io_loop.run_sync(teardown)


@pytest.fixture
def upstream(io_loop):
    """A real OpenAI-compatible server on loopback; `.url` and `.state` (requests seen, release)."""
    state = MockState()
    server, url = serve(io_loop, make_mock_app(state))
    state.url = url
    yield state
    io_loop.run_sync(server.close_all_connections)
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL when given; otherwise a private redis-server (Debian package) on a free port, so tests
    never touch the data of a Redis that happens to run on this machine."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.PIPE, text=True)
    for line in process.stdout:          # wait until it says it accepts connections
        if "Ready to accept connections" in line:
            break
    else:
        raise RuntimeError("redis-server did not start")
    threading.Thread(target=process.stdout.read, daemon=True).start()   # keep its output flowing
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


@pytest.fixture
def mj_upstream(io_loop):
    """A real midjourney-proxy-like server on loopback; `.url`, `.secret`, and test controls (mj_mock.py)."""
    from tests.upstreams.mj_mock import MjMockState, make_mj_app
    state = MjMockState()
    server, url = serve(io_loop, make_mj_app(state))
    state.url = url
    yield state
    io_loop.run_sync(server.close_all_connections)
    server.stop()
