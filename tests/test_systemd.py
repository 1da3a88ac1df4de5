"""Running under systemd: the READY notification, the unit file, the example environment file, and the
One API database settings (SQL_DSN, SQL_MAX_*) that keep their meaning."""
import configparser
import os
import socket

import pytest

from conf.settings import SETTINGS, SettingsError, load_settings
from models.db import connect, pool_options
from services.embedded_mongo import free_port
from tests.conftest import ROOT
from tests.process import ServerProcess

UNIT = os.path.join(ROOT, "systemd", "tollgate.service")
ENV_EXAMPLE = os.path.join(ROOT, "systemd", "tollgate.env.example")


def test_ready_and_stopping_are_sent_to_notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        listener.settimeout(60)
        server = ServerProcess(free_port(), tmp_path, env={"NOTIFY_SOCKET": path})
        try:
            ready = listener.recv(4096).decode()
            assert ready.startswith("READY=1\n") and f"MAINPID={server.process.pid}" in ready
            status, _, body = server.call("/api/health")   # it listens by the time it says so
            assert status == 200 and body["data"]["mongodb"]["ok"] is True
            server.terminate()
            assert listener.recv(4096) == b"STOPPING=1"
        finally:
            assert server.stop() == 0


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(UNIT)
    return parser


def test_unit_file_runs_a_hardened_notify_service():
    service = unit()["Service"]
    assert service["Type"] == "notify" and service["Restart"] == "on-failure"
    assert int(service["LimitNOFILE"]) >= 65536
    assert service["User"] not in ("", "root") and service["NoNewPrivileges"] == "true"
    assert service["ProtectSystem"] == "strict" and service["PrivateTmp"] == "true"
    env = example_values()
    writable = service["ReadWritePaths"].split()
    assert env["DATA_DIR"] in writable and env["LOG_DIR"] in writable
    assert service["EnvironmentFile"].endswith("tollgate.env")
    assert int(service["TimeoutStopSec"]) > load_settings(env={}).shutdown_grace_seconds
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def example_values() -> dict:
    """The settings the example file turns on (uncommented lines)."""
    with open(ENV_EXAMPLE) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_env_example_lists_every_setting_with_its_default():
    with open(ENV_EXAMPLE) as f:
        text = f.read()
    for setting in SETTINGS:
        default = setting.default
        shown = ("true" if default else "false") if isinstance(default, bool) else str(default)
        assert f"\n#{setting.name.upper()}={shown}\n" in text, setting.name
    load_settings(env=example_values())       # what it turns on is valid


def test_sql_dsn_with_a_mongodb_uri_is_the_mongodb_uri():
    assert load_settings(env={"SQL_DSN": "mongodb://db1:27017/"}).mongodb_uri == "mongodb://db1:27017/"
    both = load_settings(env={"SQL_DSN": "mongodb://db1:27017/", "MONGODB_URI": "mongodb://db2:27017/"})
    assert both.mongodb_uri == "mongodb://db2:27017/"
    with pytest.raises(SettingsError, match="SQL_DSN.*tools.import_oneapi"):
        load_settings(env={"SQL_DSN": "root:pw@tcp(localhost:3306)/oneapi"})


def test_sql_pool_settings_size_the_driver_pool():
    settings = load_settings(env={"SQL_MAX_OPEN_CONNS": "7", "SQL_MAX_IDLE_CONNS": "2", "SQL_MAX_LIFETIME": "30"})
    db = connect("mongodb://127.0.0.1:1/", "x", **pool_options(settings))
    pool = db.client.options.pool_options
    assert (pool.max_pool_size, pool.min_pool_size, pool.max_idle_time_seconds) == (7, 2, 30)
    assert load_settings(env={"SQL_CONN_MAX_LIFETIME": "45"}).sql_conn_max_lifetime == 45
    with pytest.raises(SettingsError, match="SQL_MAX_IDLE_CONNS"):
        load_settings(env={"SQL_MAX_OPEN_CONNS": "5", "SQL_MAX_IDLE_CONNS": "6"})


@pytest.fixture
def settings_overrides():
    return {"sql_max_open_conns": 9, "sql_max_idle_conns": 1}


@pytest.mark.gen_test
async def test_gateway_uses_the_pool_settings(gateway):
    pool = gateway.services.db.client.options.pool_options
    assert (pool.max_pool_size, pool.min_pool_size) == (9, 1)
    assert (await gateway.fetch("/api/health")).status == 200
