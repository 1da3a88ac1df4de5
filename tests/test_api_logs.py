"""/api/log: filtered pages with totals, stats, search, clean-up, streamed exports and a key's own logs."""
import csv
import io
import time

import pytest
import ujson

from services.log_export import LogExport
from tests.mgmt_support import person, refused

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
NOW = int(time.time())


def entry(user, at, **fields):
    return {"user_id": user.id, "username": user.username, "created_at": at, "type": 2, "token_id": 0,
            "token_name": "default", "model_name": "gpt-4o-mini", "channel_id": 1, "group": "default",
            "quota": 10, "prompt_tokens": 3, "completion_tokens": 4, "content": "model ratio 1",
            **fields}


async def seed(gateway, alice, bob):
    """Nine entries: alice's in the past hours, two recent ones, and bob's (times relative to now)."""
    global NOW
    NOW = int(time.time())
    rows = [
        entry(alice.user, NOW - 7200, type=1, quota=500, content="top-up by code", model_name=""),
        entry(alice.user, NOW - 3600, token_name="laptop", model_name="gpt-4o", channel_id=2, quota=100),
        entry(alice.user, NOW - 3000, group="vip", quota=40, content="=HYPERLINK(\"x\")"),
        entry(alice.user, NOW - 2000, type=5, quota=0, content="500 upstream failed"),
        entry(alice.user, NOW - 10, quota=7, prompt_tokens=100, completion_tokens=20),
        entry(alice.user, NOW - 5, quota=8, prompt_tokens=50, completion_tokens=5),
        entry(bob.user, NOW - 3500, token_name="laptop", quota=1000, content="secret of bob"),
        entry(bob.user, NOW - 4, quota=900, prompt_tokens=1000, completion_tokens=1000),
        entry(bob.user, NOW - 100000, type=3, quota=0, content="manage: quota set"),
    ]
    await gateway.services.db.logs.insert_many(rows)


async def people(gateway):
    alice, bob = await person(gateway, "alice"), await person(gateway, "bob")
    admin = await person(gateway, "boss", role="admin")
    await seed(gateway, alice, bob)
    return alice, bob, admin


async def listing(gateway, path, cookie):
    response = await gateway.fetch(path, cookie=cookie)
    assert response.status == 200, response.body
    return response.json["data"]


@pytest.mark.gen_test(timeout=60)
async def test_admin_filters_every_field_and_pages_with_totals(gateway):
    alice, bob, admin = await people(gateway)

    async def total(query):
        return (await listing(gateway, f"/api/log/?{query}", admin.cookie))["total"]

    assert await total("") == 9
    assert await total("type=2") == 6 and await total("type=1") == 1 and await total("type=5") == 1
    assert await total("username=bob") == 3
    assert await total("token_name=laptop") == 2
    assert await total("model_name=gpt-4o") == 1
    assert await total("channel=2") == 1
    assert await total("group=vip") == 1
    assert await total(f"start_timestamp={NOW - 3600}&end_timestamp={NOW - 2000}") == 4
    assert await total(f"user_id={alice.user.id}&type=2") == 4
    first = await listing(gateway, "/api/log/?p=1&page_size=4", admin.cookie)
    second = await listing(gateway, "/api/log/?p=3&page_size=4", admin.cookie)
    assert first["total"] == 9 and len(first["items"]) == 4 and len(second["items"]) == 1
    assert [e["created_at"] for e in first["items"]] == sorted((e["created_at"] for e in first["items"]), reverse=True)
    assert first["items"][0]["channel"] == 1


@pytest.mark.gen_test(timeout=60)
async def test_users_read_only_their_own_logs(gateway):
    alice, bob, admin = await people(gateway)
    own = await listing(gateway, "/api/log/self?page_size=100", alice.cookie)
    assert own["total"] == 6 and {e["username"] for e in own["items"]} == {"alice"}
    assert all("channel" not in e and "channel_id" not in e for e in own["items"])
    sneaky = await listing(gateway, f"/api/log/self?username=bob&user_id={bob.user.id}", alice.cookie)
    assert sneaky["total"] == 6 and {e["username"] for e in sneaky["items"]} == {"alice"}
    searched = await listing(gateway, "/api/log/self/search?keyword=secret", alice.cookie)
    assert searched["total"] == 0
    filtered = await listing(gateway, "/api/log/self?token_name=laptop", alice.cookie)
    assert filtered["total"] == 1


@pytest.mark.gen_test(timeout=60)
async def test_log_routes_refuse_the_wrong_callers(gateway):
    alice, _, _ = await people(gateway)
    for path in ("/api/log/", "/api/log/search", "/api/log/stat", "/api/log/export"):
        await refused(gateway, path, cookie=alice.cookie, status=403)
    await refused(gateway, f"/api/log/?target_timestamp={NOW}", "DELETE", cookie=alice.cookie, status=403)
    for path in ("/api/log/", "/api/log/self", "/api/log/self/stat", "/api/log/self/search",
                 "/api/log/self/export", "/api/log/stat"):
        await refused(gateway, path, status=401)
    assert await gateway.services.db.logs.collection.count_documents({}) == 9


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("query, words", [
    ("type=9", "type"), ("type=consume", "whole number"), ("start_timestamp=5&end_timestamp=4", "after"),
    ("p=first", "whole number"), ("channel=x", "whole number"),
])
async def test_bad_log_filters_are_refused(gateway, query, words):
    admin = await person(gateway, "boss", role="admin")
    paths = ("/api/log/", "/api/log/self") + (() if query.startswith("p=") else ("/api/log/stat", "/api/log/export"))
    for path in paths:
        message = await refused(gateway, f"{path}?{query}", cookie=admin.cookie, status=400)
        assert words in message


@pytest.mark.gen_test(timeout=60)
async def test_stats_sum_quota_and_count_the_last_minute(gateway):
    alice, bob, admin = await people(gateway)
    everyone = (await gateway.fetch("/api/log/stat", cookie=admin.cookie)).json["data"]
    assert everyone == {"quota": 100 + 40 + 7 + 8 + 1000 + 900, "rpm": 3, "tpm": 120 + 55 + 2000}
    own = (await gateway.fetch("/api/log/self/stat", cookie=alice.cookie)).json["data"]
    assert own == {"quota": 100 + 40 + 7 + 8, "rpm": 2, "tpm": 175}
    topups = (await gateway.fetch("/api/log/self/stat?type=1", cookie=alice.cookie)).json["data"]
    assert topups["quota"] == 500
    window = (await gateway.fetch(f"/api/log/stat?start_timestamp={NOW - 3600}&end_timestamp={NOW - 3000}",
                                  cookie=admin.cookie)).json["data"]
    assert window["quota"] == 100 + 1000 + 40 and window["rpm"] == 3


@pytest.mark.gen_test(timeout=60)
async def test_admin_search_by_keyword(gateway):
    _, _, admin = await people(gateway)
    found = await listing(gateway, "/api/log/search?keyword=UPSTREAM", admin.cookie)
    assert [e["content"] for e in found["items"]] == ["500 upstream failed"]
    by_name = await listing(gateway, "/api/log/search?keyword=bob", admin.cookie)
    assert by_name["total"] == 3


@pytest.mark.gen_test(timeout=60)
async def test_keyword_search_takes_the_text_as_it_is_and_pages_newest_first(gateway):
    alice, _, admin = await people(gateway)
    await gateway.services.db.logs.insert_many([
        entry(alice.user, NOW - 3, content="模型 Ratio 1.5 (Vision)"), entry(alice.user, NOW - 2, content="模型 ratio 105"),
        entry(alice.user, NOW - 1, content="Café au lait")])

    async def contents(keyword, extra=""):
        found = await listing(gateway, f"/api/log/search?keyword={keyword}{extra}", admin.cookie)
        return [e["content"] for e in found["items"]], found["total"]

    assert await contents("1.5") == (["模型 Ratio 1.5 (Vision)"], 1)           # "." is a dot, not any character
    assert await contents("(vision)") == (["模型 Ratio 1.5 (Vision)"], 1)      # brackets are text; case ignored
    assert await contents("模型%20RATIO") == (["模型 ratio 105", "模型 Ratio 1.5 (Vision)"], 2)
    assert await contents("café") == (["Café au lait"], 1)
    assert await contents("模型", "&p=2&page_size=1") == (["模型 Ratio 1.5 (Vision)"], 2)
    assert await contents("模型", "&type=5") == ([], 0)


@pytest.mark.gen_test(timeout=60)
async def test_deleting_old_logs(gateway):
    _, _, admin = await people(gateway)
    root = await gateway.root()
    for bad in ("", "?target_timestamp=", "?target_timestamp=-5", "?target_timestamp=soon"):
        await refused(gateway, f"/api/log/{bad}", "DELETE", cookie=admin.cookie, status=400)
    assert await gateway.services.db.logs.collection.count_documents({}) == 9
    response = await gateway.fetch(f"/api/log/?target_timestamp={NOW - 3000}", "DELETE", cookie=root)
    assert response.json["data"] == 4
    left = await gateway.services.db.logs.collection.count_documents({})
    assert left == 5 and await gateway.services.db.logs.collection.count_documents(
        {"created_at": {"$lt": NOW - 3000}}) == 0


@pytest.mark.gen_test(timeout=60)
async def test_csv_export_of_a_filtered_selection_is_streamed(gateway):
    alice, bob, admin = await people(gateway)
    response = await gateway.fetch("/api/log/export?format=csv&type=2", cookie=admin.cookie)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in response.headers
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert len(rows) == 6 and {r["type"] for r in rows} == {"2"}
    assert rows[0]["username"] == "bob" and rows[0]["quota"] == "900" and rows[0]["channel"] == "1"
    formula = [r for r in rows if "HYPERLINK" in r["content"]]
    assert formula[0]["content"].startswith("'=")    # never run as a spreadsheet formula
    own = await gateway.fetch("/api/log/self/export?format=csv", cookie=alice.cookie)
    own_rows = list(csv.DictReader(io.StringIO(own.body.decode())))
    assert len(own_rows) == 6 and {r["username"] for r in own_rows} == {"alice"} and "channel" not in own_rows[0]


@pytest.mark.gen_test(timeout=60)
async def test_jsonl_export_and_bad_format(gateway):
    alice, bob, admin = await people(gateway)
    response = await gateway.fetch("/api/log/self/export?format=jsonl&model_name=gpt-4o", cookie=alice.cookie)
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [ujson.loads(line) for line in response.body.decode().splitlines()]
    assert len(lines) == 1 and lines[0]["model_name"] == "gpt-4o" and lines[0]["token_name"] == "laptop"
    everything = await gateway.fetch("/api/log/export?format=jsonl", cookie=admin.cookie)
    assert len(everything.body.decode().splitlines()) == 9
    message = await refused(gateway, "/api/log/export?format=xlsx", cookie=admin.cookie, status=400)
    assert "csv or jsonl" in message


@pytest.mark.gen_test(timeout=60)
async def test_export_reads_the_selection_chunk_by_chunk(gateway):
    alice = await person(gateway, "alice")
    await gateway.services.db.logs.insert_many([entry(alice.user, NOW - i) for i in range(25)])
    export = LogExport(gateway.services.db, chunk_rows=10)
    chunks = [c async for c in export.chunks({}, "jsonl", admin=True)]
    assert [len(c.decode().splitlines()) for c in chunks] == [10, 10, 5]
    csv_chunks = [c async for c in export.chunks({"user_id": alice.user.id}, "csv", admin=False)]
    assert [len(c.decode().splitlines()) for c in csv_chunks] == [1, 10, 10, 5]


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("newest_first", [True, False])
async def test_chunks_take_every_entry_once_when_seconds_straddle_them(gateway, newest_first):
    alice, bob = await person(gateway, "alice"), await person(gateway, "bob")
    seconds = [NOW - 9] * 2 + [NOW - 8] * 7 + [NOW - 7] * 12 + [NOW - 6] * 6 + [NOW - 5] * 4
    await gateway.services.db.logs.insert_many(
        [entry(alice.user, at, content=f"call {i}") for i, at in enumerate(seconds)]
        + [entry(bob.user, at, content="call of bob") for at in seconds[:9]])
    logs = gateway.services.db.logs
    filters = {"user_id": alice.user.id, "keyword": "CALL", "start_timestamp": NOW - 8, "end_timestamp": NOW - 6}

    chunks = [chunk async for chunk in logs.in_chunks(filters, 5, newest_first=newest_first)]

    walked = [(e["created_at"], e["_id"]) for chunk in chunks for e in chunk]
    assert len(walked) == 7 + 12 + 6 and len(set(walked)) == len(walked)
    assert walked == sorted(walked, reverse=newest_first)
    assert all(e["username"] == "alice" for chunk in chunks for e in chunk)
    # each chunk: at most its size, plus the rest of the second it ended in
    assert all(len(chunk) <= 5 + 12 for chunk in chunks) and len(chunks) >= 3


@pytest.mark.gen_test(timeout=60)
async def test_a_key_reads_its_own_logs_without_login_across_origins(gateway, upstream):
    alice = await person(gateway, "alice")
    await gateway.make_channel(upstream.url)
    key = await gateway.make_token(alice.user, name="one")
    other = await gateway.make_token(alice.user, name="two")
    for used in (key, key, other):
        assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=used)).status == 200
    await gateway.settled()
    response = await gateway.fetch(f"/api/log/token?key={key}", headers={"Origin": "https://tool.example"})
    assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.json["data"]
    assert data["total"] == 2 and {e["token_name"] for e in data["items"]} == {"one"}
    assert all("channel_id" not in e for e in data["items"])
    by_header = await gateway.fetch("/api/log/token", key=other)
    assert by_header.json["data"]["total"] == 1
    preflight = await gateway.fetch("/api/log/token", "OPTIONS", headers={
        "Origin": "https://tool.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status == 204 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    for bad in ("sk-" + "x" * 48, "", "sk-"):
        bad_response = await gateway.fetch(f"/api/log/token?key={bad}")
        assert bad_response.status == 401 and bad_response.json["success"] is False
        assert bad_response.headers["Access-Control-Allow-Origin"] == "*"
