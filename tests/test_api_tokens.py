"""/api/token: owners manage their keys; nobody reads or changes another user's tokens."""
import re
import time

import pytest

from tests.mgmt_support import person, refused, token_count

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def create(gateway, cookie, **fields):
    fields.setdefault("name", "mine")
    fields.setdefault("unlimited_quota", True)
    response = await gateway.fetch("/api/token/", "POST", json=fields, cookie=cookie)
    assert response.status == 200, response.body
    return response.json["data"]


@pytest.mark.gen_test(timeout=60)
async def test_owner_creates_lists_reveals_and_uses_a_token(gateway, upstream):
    alice = await person(gateway, "alice")
    await gateway.make_channel(upstream.url)
    made = await create(gateway, alice.cookie, name="laptop", remain_quota=5000, unlimited_quota=False,
                        models="gpt-4o-mini, gpt-4o", subnet="127.0.0.0/8\n10.0.0.1", billing_mode="per_call")
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", made["key"])
    assert made["models"] == "gpt-4o-mini,gpt-4o" and made["subnet"] == "127.0.0.0/8,10.0.0.1"
    assert made["billing_mode"] == "per_call" and made["remain_quota"] == 5000

    listing = (await gateway.fetch("/api/token/", cookie=alice.cookie)).json["data"]
    assert listing["total"] == 1
    [shown] = listing["items"]
    assert shown["key"] != made["key"] and "*" in shown["key"] and shown["key"][-4:] == made["key"][-4:]

    revealed = await gateway.fetch(f"/api/token/{made['id']}/key", "POST", cookie=alice.cookie)
    assert revealed.json["data"]["key"] == made["key"]
    got = await gateway.fetch(f"/api/token/{made['id']}", cookie=alice.cookie)
    assert got.json["data"]["name"] == "laptop"
    relayed = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=made["key"])
    assert relayed.status == 200, relayed.body


@pytest.mark.gen_test(timeout=60)
async def test_another_user_never_reads_or_changes_my_tokens(gateway):
    alice, bob = await person(gateway, "alice"), await person(gateway, "bob")
    made = await create(gateway, alice.cookie, name="secret")
    path = f"/api/token/{made['id']}"
    await refused(gateway, path, cookie=bob.cookie, status=404)
    await refused(gateway, path + "/key", "POST", cookie=bob.cookie, status=404)
    await refused(gateway, "/api/token/", "PUT", cookie=bob.cookie, json={"id": made["id"], "name": "x"},
                  status=404)
    await refused(gateway, "/api/token/?status_only=true", "PUT", cookie=bob.cookie,
                  json={"id": made["id"], "status": 2}, status=404)
    await refused(gateway, path, "DELETE", cookie=bob.cookie, status=404)
    batch = await gateway.fetch("/api/token/batch", "POST", json={"ids": [made["id"]]}, cookie=bob.cookie)
    assert batch.status == 200 and batch.json["data"] == 0
    listing = (await gateway.fetch("/api/token/", cookie=bob.cookie)).json["data"]
    assert listing == {"items": [], "total": 0, "page": 1, "page_size": 20}
    search = (await gateway.fetch(f"/api/token/search?token={made['key']}", cookie=bob.cookie)).json["data"]
    assert search["total"] == 0
    token = await gateway.services.db.tokens.get(made["id"])
    assert token.name == "secret" and token.status == 1


@pytest.mark.gen_test(timeout=60)
async def test_every_token_route_needs_a_login(gateway):
    for path, method in [("/api/token/", "GET"), ("/api/token/", "POST"), ("/api/token/", "PUT"),
                         ("/api/token/search", "GET"), ("/api/token/1", "GET"), ("/api/token/1", "DELETE"),
                         ("/api/token/1/key", "POST"), ("/api/token/batch", "POST"),
                         ("/api/token/batch/create", "POST"), ("/api/token/all", "GET")]:
        await refused(gateway, path, method, json={} if method in ("POST", "PUT") else None, status=401)


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("fields, words", [
    ({"name": ""}, "name is required"),
    ({"name": "x" * 31}, "at most 30"),
    ({"remain_quota": -1, "unlimited_quota": False}, "negative"),
    ({"remain_quota": "10"}, "whole number"),
    ({"expired_time": 1000}, "future"),
    ({"subnet": "10.0.0.0/33"}, "not an IP address"),
    ({"subnet": "my office"}, "not an IP address"),
    ({"billing_mode": "free"}, "ratio or per_call"),
    ({"models": 5}, "models"),
    ({"unlimited_quota": "yes"}, "true or false"),
])
async def test_bad_token_input_is_refused_and_nothing_written(gateway, fields, words):
    alice = await person(gateway, "alice")
    body = {"name": "ok", "unlimited_quota": True, **fields}
    message = await refused(gateway, "/api/token/", "POST", cookie=alice.cookie, json=body, status=400)
    assert words in message
    assert await token_count(gateway) == 0


@pytest.mark.gen_test(timeout=60)
async def test_token_group_must_be_one_the_user_may_use(gateway):
    alice = await person(gateway, "alice", group="vip")
    message = await refused(gateway, "/api/token/", "POST", cookie=alice.cookie,
                            json={"name": "t", "group": "svip"}, status=403)
    assert "svip" in message and await token_count(gateway) == 0
    made = await create(gateway, alice.cookie, group="vip")
    assert made["group"] == "vip"
    await refused(gateway, "/api/token/", "PUT", cookie=alice.cookie, json={"id": made["id"], "group": "svip"})
    assert (await gateway.services.db.tokens.get(made["id"])).group == "vip"


@pytest.mark.gen_test(timeout=60)
async def test_edit_and_status_toggle(gateway):
    alice = await person(gateway, "alice")
    made = await create(gateway, alice.cookie, name="a", remain_quota=100, unlimited_quota=False)
    edited = await gateway.fetch("/api/token/", "PUT", cookie=alice.cookie,
                                 json={**made, "name": "b", "remain_quota": 300})
    assert edited.json["data"]["name"] == "b" and edited.json["data"]["remain_quota"] == 300
    off = await gateway.fetch("/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                              json={"id": made["id"], "status": 2, "name": "ignored"})
    assert off.json["data"]["status"] == 2 and off.json["data"]["name"] == "b"
    on = await gateway.fetch("/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                             json={"id": made["id"], "status": 1})
    assert on.json["data"]["status"] == 1
    await refused(gateway, "/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                  json={"id": made["id"], "status": 7}, status=400)


@pytest.mark.gen_test(timeout=60)
async def test_enabling_an_expired_or_exhausted_token_is_refused(gateway):
    alice = await person(gateway, "alice")
    tokens = gateway.services.db.tokens
    expired = await create(gateway, alice.cookie, name="old")
    await tokens.update(expired["id"], {"expired_time": int(time.time()) - 10, "status": 2})
    message = await refused(gateway, "/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                            json={"id": expired["id"], "status": 1}, status=400)
    assert "expired" in message and (await tokens.get(expired["id"])).status == 2
    empty = await create(gateway, alice.cookie, name="empty", remain_quota=1, unlimited_quota=False)
    await tokens.update(empty["id"], {"remain_quota": 0, "status": 2})
    message = await refused(gateway, "/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                            json={"id": empty["id"], "status": 1}, status=400)
    assert "quota" in message and (await tokens.get(empty["id"])).status == 2
    # Renaming an expired token keeps its (past) expiry without complaint.
    renamed = await gateway.fetch("/api/token/", "PUT", cookie=alice.cookie,
                                  json={**expired, "expired_time": int(time.time()) - 10, "name": "older"})
    assert renamed.status == 400   # the past time differs from the stored one: refused
    stored = await tokens.get(expired["id"])
    renamed = await gateway.fetch("/api/token/", "PUT", cookie=alice.cookie,
                                  json={"id": expired["id"], "expired_time": stored.expired_time, "name": "older"})
    assert renamed.status == 200 and renamed.json["data"]["name"] == "older"


@pytest.fixture
def settings_overrides():
    return {"token_cache_seconds": 300}


@pytest.mark.gen_test(timeout=60)
async def test_a_changed_token_leaves_the_key_cache_at_once(gateway, upstream):
    alice = await person(gateway, "alice")
    await gateway.make_channel(upstream.url)
    made = await create(gateway, alice.cookie)
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=made["key"])).status == 200
    await gateway.fetch("/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                        json={"id": made["id"], "status": 2})
    refused_now = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=made["key"])
    assert refused_now.status == 401 and "disabled" in refused_now.json["error"]["message"]
    await gateway.fetch("/api/token/?status_only=true", "PUT", cookie=alice.cookie,
                        json={"id": made["id"], "status": 1})
    await gateway.fetch("/api/token/", "PUT", cookie=alice.cookie, json={"id": made["id"], "subnet": "10.0.0.0/8"})
    outside = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=made["key"])
    assert outside.status == 403 and outside.json["error"]["code"] == "ip_not_allowed"
    await gateway.fetch(f"/api/token/{made['id']}", "DELETE", cookie=alice.cookie)
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=made["key"])).status == 401


@pytest.mark.gen_test(timeout=60)
async def test_search_by_name_and_by_key(gateway):
    alice = await person(gateway, "alice")
    first = await create(gateway, alice.cookie, name="Work laptop")
    await create(gateway, alice.cookie, name="phone")
    by_name = (await gateway.fetch("/api/token/search?keyword=LAPTOP", cookie=alice.cookie)).json["data"]
    assert [t["id"] for t in by_name["items"]] == [first["id"]]
    by_key = (await gateway.fetch(f"/api/token/search?token={first['key']}", cookie=alice.cookie)).json["data"]
    assert [t["id"] for t in by_key["items"]] == [first["id"]]
    none = (await gateway.fetch("/api/token/search?keyword=tablet", cookie=alice.cookie)).json["data"]
    assert none["total"] == 0


@pytest.mark.gen_test(timeout=60)
async def test_batch_delete_takes_only_the_callers_tokens(gateway):
    alice, bob = await person(gateway, "alice"), await person(gateway, "bob")
    mine = [await create(gateway, alice.cookie, name=f"t{i}") for i in range(3)]
    theirs = await create(gateway, bob.cookie, name="bobs")
    ids = [mine[0]["id"], mine[1]["id"], theirs["id"]]
    response = await gateway.fetch("/api/token/batch", "POST", json={"ids": ids}, cookie=alice.cookie)
    assert response.json["data"] == 2
    assert await token_count(gateway, alice.user.id) == 1 and await token_count(gateway, bob.user.id) == 1
    for bad in ({"ids": []}, {"ids": "1,2"}, {"ids": [True]}, {}):
        await refused(gateway, "/api/token/batch", "POST", cookie=alice.cookie, json=bad, status=400)
    assert await token_count(gateway) == 2


@pytest.mark.gen_test(timeout=60)
async def test_batch_create_returns_every_key_once(gateway, upstream):
    alice = await person(gateway, "alice")
    await gateway.make_channel(upstream.url)
    response = await gateway.fetch("/api/token/batch/create", "POST", cookie=alice.cookie,
                                   json={"count": 3, "name": "class", "remain_quota": 1000,
                                         "unlimited_quota": False, "models": "gpt-4o-mini"})
    made = response.json["data"]
    assert [t["name"] for t in made] == ["class-1", "class-2", "class-3"]
    keys = {t["key"] for t in made}
    assert len(keys) == 3 and all(re.fullmatch(r"sk-[A-Za-z0-9]{48}", k) for k in keys)
    assert all(t["remain_quota"] == 1000 and t["models"] == "gpt-4o-mini" for t in made)
    for key in keys:
        assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
    listing = (await gateway.fetch("/api/token/", cookie=alice.cookie)).json["data"]
    assert listing["total"] == 3 and not keys & {t["key"] for t in listing["items"]}
    for bad in ({"count": 0, "name": "x"}, {"count": 101, "name": "x"}, {"count": "3", "name": "x"},
                {"count": 2, "name": ""}, {"count": 2, "name": "x", "subnet": "nowhere"}):
        await refused(gateway, "/api/token/batch/create", "POST", cookie=alice.cookie, json=bad, status=400)
    assert await token_count(gateway) == 3


@pytest.mark.gen_test(timeout=60)
async def test_admins_see_every_token_without_keys(gateway):
    alice, admin = await person(gateway, "alice"), await person(gateway, "boss", role="admin")
    await create(gateway, alice.cookie, name="a1")
    await create(gateway, admin.cookie, name="b1")
    everyone = (await gateway.fetch("/api/token/all", cookie=admin.cookie)).json["data"]
    assert everyone["total"] == 2 and all("key" not in t for t in everyone["items"])
    one_user = (await gateway.fetch(f"/api/token/all?user_id={alice.user.id}", cookie=admin.cookie)).json["data"]
    assert [t["name"] for t in one_user["items"]] == ["a1"]
    await refused(gateway, "/api/token/all", cookie=alice.cookie, status=403)
