"""Importing a One API database: a SQLite file built with One API's tables, and the same in MariaDB.
Imported users log in with their old passwords, imported keys relay, and a second run changes nothing."""
import os
import sqlite3
import subprocess
import sys

import pymysql
import pytest

from tests.conftest import ROOT
from tests.oneapi_db import ALICE_ACCESS_TOKEN, ALICE_KEY, LOG_COUNT, create_tables, fill
from tools.import_oneapi import import_database
from tools import oneapi_convert as convert

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}]}


def sqlite_file(tmp_path, upstream_url) -> str:
    path = str(tmp_path / "one-api.db")
    connection = sqlite3.connect(path)
    create_tables(connection.cursor(), "sqlite")
    fill(connection.cursor(), "?", upstream_url)
    connection.commit()
    connection.close()
    return path


def counts(summaries) -> dict:
    return {s.table: (s.read, s.written.inserted, s.written.present, s.written.conflicts, s.skipped)
            for s in summaries}


@pytest.mark.gen_test(timeout=60)
async def test_sqlite_import_then_login_and_relay(gateway, upstream, tmp_path):
    path = sqlite_file(tmp_path, upstream.url)
    services = gateway.services

    first = counts(await import_database(path, services.db, services.keyring))

    assert first["users"] == (4, 3, 0, 0, 1)         # carol was deleted in One API
    assert first["tokens"] == (5, 4, 0, 0, 1)        # carol's token went with her
    assert first["channels"] == (3, 3, 0, 0, 0)
    assert first["options"] == (3, 3, 0, 0, 0)
    assert first["redemptions"] == (2, 2, 0, 0, 0)
    assert first["logs"] == (LOG_COUNT, LOG_COUNT, 0, 0, 0)
    await services.routing.reload()

    # Alice logs in with her One API password; the bcrypt hash is replaced by an Argon2 one.
    cookie = await gateway.login("alice", "alicepass")
    assert (await services.db.users.get(2)).password_hash.startswith("$argon2")
    me = await gateway.fetch("/api/user/self", cookie=cookie)
    assert me.status == 200 and me.json["data"]["quota"] == 1_000_000
    assert (await gateway.fetch("/api/user/self", headers={"Authorization": ALICE_ACCESS_TOKEN})).status == 200
    assert (await gateway.login("root", "rootpass1"))       # One API's root replaced the untouched default root
    bob = await gateway.fetch("/api/user/login", "POST", json={"username": "bob", "password": "bobpass12"})
    assert bob.status == 403                                 # still disabled

    # Her One API key relays (through the imported model mapping) and is billed on the imported balances.
    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key="sk-" + ALICE_KEY)
    assert response.status == 200, response.body
    await gateway.settled()
    assert upstream.requests[-1][2]["model"] == "gpt-4o-mini"
    assert await gateway.quota_of(await services.db.users.get(2)) < 1_000_000
    assert (await services.db.tokens.get(1)).remain_quota < 500_000
    expired = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key="sk-" + "x" * 48)
    assert expired.status == 401

    # Channels: types renumbered, default base URL filled in, unsupported types kept but disabled.
    deepseek, baidu = await services.db.channels.get(2), await services.db.channels.get(7)
    assert (deepseek.type, deepseek.base_url, deepseek.status) == (8, "https://api.deepseek.com", 2)
    assert baidu.status == 2 and "Baidu" in baidu.status_reason
    mock = await services.db.channels.get(1)
    assert (mock.groups, mock.priority, mock.weight, mock.model_mapping) == (
        ["default", "vip"], 5, 3, {"gpt-4o": "gpt-4o-mini"})
    assert await services.db.abilities.collection.count_documents({"channel_id": 1, "enabled": True}) == 4

    # New records continue after the imported ids.
    assert await services.db.counters.next_id("users") == 6
    assert await services.db.counters.next_id("channels") == 8
    assert (await services.db.options.all())["SystemName"] == "Old Gateway"

    # A second run writes nothing and counts everything as already there.
    before = {name: await getattr(services.db, name).collection.count_documents({})
              for name in ("users", "tokens", "channels", "abilities", "logs", "options")}
    second = counts(await import_database(path, services.db, services.keyring))
    assert {t: c[1] for t, c in second.items() if t != "abilities"} == {
        "users": 0, "tokens": 0, "channels": 0, "options": 0, "redemptions": 0, "logs": 0}
    assert second["users"][2] == 3 and second["tokens"][2] == 4 and second["logs"][2] == LOG_COUNT
    after = {name: await getattr(services.db, name).collection.count_documents({})
             for name in before}
    assert after == before
    assert (await services.db.users.get(2)).password_hash.startswith("$argon2")   # not reset by the rerun


@pytest.mark.gen_test(timeout=60)
async def test_a_user_whose_id_is_taken_keeps_no_tokens(gateway, upstream, tmp_path):
    dave = await gateway.make_user(username="dave")          # id 2 here is alice's id in One API
    path = sqlite_file(tmp_path, upstream.url)

    summaries = {s.table: s for s in await import_database(path, gateway.services.db, gateway.services.keyring)}

    assert summaries["users"].written.present == 1 and "[2]" in " ".join(summaries["users"].notes)
    assert summaries["tokens"].skipped == 3                  # alice's two, and carol's
    assert await gateway.services.db.tokens.page(dave.id, "", 0, 10) == ([], 0)
    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key="sk-" + ALICE_KEY)
    assert response.status == 401


@pytest.fixture
def mariadb():
    """A throwaway database on the machine's MariaDB (127.0.0.1:3306, root, no password)."""
    try:
        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"MariaDB must answer on 127.0.0.1:3306 (user root, no password) for this test: {exc}")
    name = f"oneapi_import_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{name}`")
    yield connection, name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    connection.close()


def run_cli(mongo_uri, db_name, data_dir, source):
    env = {**os.environ, "MONGODB_URI": mongo_uri, "MONGODB_DB": db_name, "SESSION_SECRET": "test-secret",
           "DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-m", "tools.import_oneapi", source], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line and line[0] != " "}


@pytest.mark.gen_test(timeout=120)
async def test_mysql_import_from_the_command_line(gateway, upstream, mariadb, mongo_uri, tmp_path):
    connection, name = mariadb
    with connection.cursor() as cursor:
        create_tables(cursor, "mysql")
        fill(cursor, "%s", upstream.url)
    db_name = gateway.services.db.users.collection.database.name

    lines = run_cli(mongo_uri, db_name, tmp_path, f"mysql://root:@127.0.0.1:3306/{name}")

    assert lines["users"][1:4] == ["read", "4", "imported"] and lines["users"][4] == "3"
    assert lines["logs"][4] == str(LOG_COUNT)
    await gateway.services.routing.reload()
    cookie = await gateway.login("alice", "alicepass")
    assert cookie
    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key="sk-" + ALICE_KEY)
    assert response.status == 200, response.body

    again = run_cli(mongo_uri, db_name, tmp_path, f"root:@tcp(127.0.0.1:3306)/{name}")   # One API's DSN form
    assert [again[t][4] for t in ("users", "tokens", "channels", "options", "redemptions", "logs")] == ["0"] * 6
    assert again["logs"][7] == str(LOG_COUNT)


def test_new_api_rows_convert():
    class Keyring:
        def hash(self, text): return "h:" + text
        def encrypt(self, text): return "e:" + text

    token = convert.token_doc({"id": 9, "user_id": 2, "key": "k" * 48, "model_limits_enabled": 1,
                               "model_limits": "gpt-4o,o1", "allow_ips": "10.0.0.1\n10.0.0.2", "group": "vip",
                               "deleted_at": None}, Keyring(), convert.NEWAPI)
    assert (token["models"], token["subnet"], token["group"]) == (["gpt-4o", "o1"], "10.0.0.1,10.0.0.2", "vip")
    closed = convert.token_doc({"id": 10, "key": "z" * 48, "model_limits_enabled": 1, "model_limits": ""},
                               Keyring(), convert.NEWAPI)
    assert closed["status"] == 2       # "limits on, none allowed" stays closed
    assert convert.token_doc({"id": 11, "key": "y" * 48, "deleted_at": "2024-01-01"}, Keyring(),
                             convert.NEWAPI) is None
    channel, supported = convert.channel_doc({"id": 3, "type": 43, "models": "deepseek-chat", "group": "default",
                                              "auto_ban": 0, "other_info": '{"status_reason": "dead key"}'},
                                             convert.NEWAPI)
    assert (channel["type"], channel["base_url"], channel["auto_ban"], supported) == (
        8, "https://api.deepseek.com", False, True)
    mj, supported = convert.channel_doc({"id": 4, "type": 2, "models": "mj_imagine"}, convert.NEWAPI)
    assert mj["type"] == 2 and supported
    log = convert.log_doc({"id": 1, "use_time": 3, "other": '{"frt": 120}', "ip": "1.2.3.4"}, convert.NEWAPI)
    assert (log["use_time_ms"], log["other"], log["ip"]) == (3000, {"frt": 120}, "1.2.3.4")
