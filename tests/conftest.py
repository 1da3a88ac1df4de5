"""Shared fixtures: one real nx-27017 server per session (or MONGODB_URI), and per test a database of
its own, the gateway built on the test's IOLoop, and a real local OpenAI-compatible upstream."""
import itertools
import os
import sys

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from conf.settings import load_settings  # noqa: E402
from handlers import make_app  # noqa: E402
from services.embedded_mongo import EmbeddedMongo  # noqa: E402
from services.runtime import build_services  # noqa: E402
from tests.client import GatewayClient  # noqa: E402
from tests.upstreams.openai_mock import MockState, make_mock_app  # noqa: E402

_db_names = itertools.count(1)


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
