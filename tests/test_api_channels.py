"""/api/channel: administrators manage channels; keys only to root; tests and balances hit a real upstream."""
import json

import pytest

from models.channels import STATUS_AUTO_DISABLED, STATUS_MANUALLY_DISABLED
from tests.mgmt_support import person, refused
from tests.upstreams.billing_mock import BALANCE

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def channel_body(url, **fields):
    return {"name": "main", "type": 1, "key": "key-ok", "base_url": url, "models": "gpt-4o-mini,gpt-4o",
            "group": "default,vip", **fields}


async def create(gateway, cookie, url, **fields):
    response = await gateway.fetch("/api/channel/", "POST", json=channel_body(url, **fields), cookie=cookie)
    assert response.status == 200, response.body
    return response.json["data"]


async def channel_count(gateway):
    return await gateway.services.db.channels.collection.count_documents({})


async def abilities(gateway, channel_id):
    rows = await gateway.services.db.abilities.for_channel(channel_id)
    return sorted((r["group"], r["model"], r["enabled"]) for r in rows)


@pytest.mark.gen_test(timeout=60)
async def test_root_creates_edits_and_deletes_a_channel_with_every_field(gateway, upstream):
    root = await gateway.root()
    [made] = await create(gateway, root, upstream.url, priority=5, weight=3, model_mapping='{"gpt-4o":"gpt-4o-x"}',
                          auto_ban=0, test_model="gpt-4o", openai_organization="org-1", auto_enable_interval=600)
    assert made["key"] == "key-ok" and made["priority"] == 5 and made["weight"] == 3
    assert made["model_mapping"] == '{"gpt-4o":"gpt-4o-x"}' and made["auto_ban"] == 0
    assert (made["test_model"], made["openai_organization"], made["auto_enable_interval"]) == ("gpt-4o", "org-1", 600)
    assert await abilities(gateway, made["id"]) == [("default", "gpt-4o", True), ("default", "gpt-4o-mini", True),
                                                    ("vip", "gpt-4o", True), ("vip", "gpt-4o-mini", True)]
    edited = await gateway.fetch("/api/channel/", "PUT", cookie=root,
                                 json={"id": made["id"], "models": "gpt-4o-mini", "group": "default", "status": 2})
    assert edited.json["data"]["models"] == "gpt-4o-mini" and edited.json["data"]["status"] == 2
    assert await abilities(gateway, made["id"]) == [("default", "gpt-4o-mini", False)]
    got = await gateway.fetch(f"/api/channel/{made['id']}", cookie=root)
    assert got.json["data"]["key"] == "key-ok" and got.json["data"]["used_quota"] == 0
    assert (await gateway.fetch(f"/api/channel/{made['id']}", "DELETE", cookie=root)).status == 200
    assert await abilities(gateway, made["id"]) == [] and await channel_count(gateway) == 0
    await refused(gateway, f"/api/channel/{made['id']}", "DELETE", cookie=root, status=404)


@pytest.mark.gen_test(timeout=60)
async def test_several_key_lines_make_one_channel_each(gateway, upstream):
    root = await gateway.root()
    made = await create(gateway, root, upstream.url, key="key-a\nkey-b\n\nkey-c\n")
    assert [c["key"] for c in made] == ["key-a", "key-b", "key-c"]
    assert len({c["id"] for c in made}) == 3 and await channel_count(gateway) == 3


@pytest.mark.gen_test(timeout=60)
async def test_admins_never_see_keys_and_users_are_refused(gateway, upstream):
    root = await gateway.root()
    admin, alice = await person(gateway, "boss", role="admin"), await person(gateway, "alice")
    [made] = await create(gateway, root, upstream.url, key="key-secret")
    listing = (await gateway.fetch("/api/channel/", cookie=admin.cookie)).json["data"]
    assert listing["total"] == 1 and listing["items"][0]["key"] == ""
    assert (await gateway.fetch(f"/api/channel/{made['id']}", cookie=admin.cookie)).json["data"]["key"] == ""
    await gateway.fetch("/api/channel/", "PUT", cookie=admin.cookie, json={"id": made["id"], "key": "", "weight": 9})
    stored = await gateway.services.db.channels.get(made["id"])
    assert stored.key == "key-secret" and stored.weight == 9   # an empty key in an edit keeps the key
    routes = [("/api/channel/", "GET"), ("/api/channel/", "POST"), ("/api/channel/", "PUT"),
              ("/api/channel/search", "GET"), (f"/api/channel/{made['id']}", "GET"),
              (f"/api/channel/{made['id']}", "DELETE"), ("/api/channel/models", "GET"),
              ("/api/channel/disabled", "DELETE"), ("/api/channel/batch", "POST"), ("/api/channel/test", "GET"),
              (f"/api/channel/test/{made['id']}", "GET"), ("/api/channel/update_balance", "GET"),
              (f"/api/channel/update_balance/{made['id']}", "GET")]
    for path, method in routes:
        body = {} if method in ("POST", "PUT") else None
        await refused(gateway, path, method, cookie=alice.cookie, json=body, status=403)
        await refused(gateway, path, method, json=body, status=401)
    assert await channel_count(gateway) == 1 and not upstream.requests


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("fields, words", [
    ({"name": ""}, "name is required"),
    ({"key": ""}, "key is required"),
    ({"models": ""}, "at least one model"),
    ({"type": 999}, "unknown channel type"),
    ({"base_url": "ftp://x"}, "http"),
    ({"model_mapping": "{not json"}, "model_mapping"),
    ({"model_mapping": '{"a": 1}'}, "model_mapping"),
    ({"weight": -1}, "at least 0"),
    ({"priority": "high"}, "number"),
    ({"status": 7}, "status"),
    ({"config": "x"}, "config"),
])
async def test_bad_channel_input_is_refused_and_nothing_written(gateway, upstream, fields, words):
    root = await gateway.root()
    message = await refused(gateway, "/api/channel/", "POST", cookie=root, json=channel_body(upstream.url, **fields),
                            status=400)
    assert words in message
    assert await channel_count(gateway) == 0
    assert await gateway.services.db.abilities.collection.count_documents({}) == 0


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("number", ["1e999", "NaN", "-Infinity"])
async def test_a_number_that_is_not_finite_is_refused(gateway, upstream, number):
    root = await gateway.root()
    body = json.dumps(channel_body(upstream.url))[:-1] + f', "weight": {number}}}'
    response = await gateway.fetch("/api/channel/", "POST", body=body, cookie=root,
                                   headers={"Content-Type": "application/json"})
    assert response.status == 400 and "not finite" in response.json["message"]
    assert await channel_count(gateway) == 0


@pytest.mark.gen_test(timeout=60)
async def test_a_bad_edit_changes_nothing(gateway, upstream):
    root = await gateway.root()
    [made] = await create(gateway, root, upstream.url)
    for bad in ({"id": made["id"], "models": ""}, {"id": made["id"], "weight": -5}, {"name": "no id"},
                {"id": made["id"], "model_mapping": "[]"}, {"id": made["id"], "key": "a\nb"}):
        await refused(gateway, "/api/channel/", "PUT", cookie=root, json=bad, status=400)
    await refused(gateway, "/api/channel/", "PUT", cookie=root, json={"id": 999, "name": "x"}, status=404)
    stored = await gateway.services.db.channels.get(made["id"])
    assert stored.models == ["gpt-4o-mini", "gpt-4o"] and stored.weight == 0 and stored.key == "key-ok"
    assert len(await abilities(gateway, made["id"])) == 4


@pytest.mark.gen_test(timeout=60)
async def test_search_by_keyword_group_model_and_status(gateway, upstream):
    root = await gateway.root()
    [a] = await create(gateway, root, upstream.url, name="Azure east", models="gpt-4o", group="vip")
    [b] = await create(gateway, root, upstream.url, name="Cheap west", models="gpt-4o-mini", group="default")
    await gateway.fetch("/api/channel/", "PUT", cookie=root, json={"id": b["id"], "status": 2})

    async def ids(query):
        data = (await gateway.fetch(f"/api/channel/search?{query}", cookie=root)).json["data"]
        assert data["total"] == len(data["items"])
        return [c["id"] for c in data["items"]]

    assert await ids("keyword=azure") == [a["id"]]
    assert await ids("keyword=WEST") == [b["id"]]
    [c] = await create(gateway, root, "http://upstream.example", name="Gemini", models="gemini-pro", group="gem")
    assert await ids(f"keyword={c['id']}&model=gemini-pro") == [c["id"]]  # its id (no digit in its name or URL)
    assert sorted(await ids("keyword=127.0.0")) == [a["id"], b["id"]]    # inside the base URL
    assert await ids("keyword=127.0.0&model=gpt-4o") == [a["id"]]
    assert await ids("keyword=a.ure") == []                              # plain text, not a pattern
    assert await ids("group=default") == [b["id"]]
    assert await ids("model=gpt-4o") == [a["id"]]
    assert await ids("model=gpt-4o&group=default") == []
    assert await ids("status=2") == [b["id"]]
    assert sorted(await ids("")) == [a["id"], b["id"], c["id"]]
    await refused(gateway, "/api/channel/search?status=9", cookie=root, status=400)


@pytest.mark.gen_test(timeout=60)
async def test_models_lists_priced_and_served_models(gateway, upstream):
    root = await gateway.root()
    await create(gateway, root, upstream.url, models="my-local-llm")
    models = [m["id"] for m in (await gateway.fetch("/api/channel/models", cookie=root)).json["data"]]
    assert "my-local-llm" in models and "gpt-4o-mini" in models and "gpt-4" in models
    assert models == sorted(set(models)) and not any("*" in m for m in models)


@pytest.mark.gen_test(timeout=60)
async def test_testing_a_channel_calls_the_upstream_and_stores_the_time(gateway, upstream):
    root = await gateway.root()
    [made] = await create(gateway, root, upstream.url, models="gpt-4o-mini,gpt-4o",
                          model_mapping='{"gpt-4o":"gpt-4o-2024"}', openai_organization="org-7")
    response = await gateway.fetch(f"/api/channel/test/{made['id']}?model=gpt-4o", cookie=root)
    body = response.json
    assert response.status == 200 and body["success"] is True
    assert body["model"] == "gpt-4o" and body["message"] == "Hello from the mock upstream."
    assert 0 <= body["time"] < 10 and abs(body["data"]["response_time"] - body["time"] * 1000) <= 1
    path, headers, sent = upstream.requests[-1]
    assert path == "/v1/chat/completions" and sent["model"] == "gpt-4o-2024"
    assert headers["Openai-Organization"] == "org-7" and headers["Authorization"] == "Bearer key-ok"
    stored = await gateway.services.db.channels.get(made["id"])
    assert stored.test_time > 0 and stored.response_time == body["data"]["response_time"]
    # Without ?model=: the channel's test model, else its first model.
    await gateway.fetch(f"/api/channel/test/{made['id']}", cookie=root)
    assert upstream.requests[-1][2]["model"] == "gpt-4o-mini"
    await gateway.fetch("/api/channel/", "PUT", cookie=root, json={"id": made["id"], "test_model": "gpt-4o"})
    await gateway.fetch(f"/api/channel/test/{made['id']}", cookie=root)
    assert upstream.requests[-1][2]["model"] == "gpt-4o-2024"
    await refused(gateway, "/api/channel/test/999", cookie=root, status=404)


@pytest.mark.gen_test(timeout=60)
async def test_a_failed_test_disables_a_dead_channel_unless_it_opted_out(gateway, upstream):
    root = await gateway.root()
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    [dead] = await create(gateway, root, upstream.url, key="key-dead", name="dead")
    [kept] = await create(gateway, root, upstream.url, key="key-dead", name="kept", auto_ban=0)
    response = await gateway.fetch(f"/api/channel/test/{dead['id']}", cookie=root)
    assert response.status == 502 and response.json["success"] is False
    assert "Incorrect API key" in response.json["message"] and response.json["model"] == "gpt-4o-mini"
    shown = (await gateway.fetch(f"/api/channel/{dead['id']}", cookie=root)).json["data"]
    assert shown["status"] == STATUS_AUTO_DISABLED and "Incorrect API key" in shown["status_reason"]
    assert shown["status_time"] > 0 and shown["test_time"] > 0
    assert (await gateway.fetch(f"/api/channel/test/{kept['id']}", cookie=root)).status == 502
    assert (await gateway.services.db.channels.get(kept["id"])).status == 1


@pytest.mark.gen_test(timeout=60)
async def test_only_automatically_disabled_channels_are_enabled_automatically(gateway, upstream):
    root = await gateway.root()
    [auto] = await create(gateway, root, upstream.url, name="auto")
    [manual] = await create(gateway, root, upstream.url, name="manual")
    service = gateway.services.channels
    await service.disable_automatically(auto["id"], "test")
    await gateway.fetch("/api/channel/", "PUT", cookie=root, json={"id": manual["id"], "status": 2})
    assert await service.enable_automatically(auto["id"]) is True
    assert await service.enable_automatically(manual["id"]) is False
    assert (await service.get(auto["id"])).status == 1 and (await service.get(manual["id"])).status == 2
    assert {r[2] for r in await abilities(gateway, auto["id"])} == {True}


@pytest.mark.gen_test(timeout=60)
async def test_test_all_reports_every_channel_in_scope(gateway, upstream):
    root = await gateway.root()
    [good] = await create(gateway, root, upstream.url, name="good")
    [bad] = await create(gateway, root, upstream.url, name="bad", key="key-500")
    [off] = await create(gateway, root, upstream.url, name="off")
    await gateway.fetch("/api/channel/", "PUT", cookie=root, json={"id": off["id"], "status": 2})
    results = (await gateway.fetch("/api/channel/test", cookie=root)).json["data"]
    assert {r["id"]: r["success"] for r in results} == {good["id"]: True, bad["id"]: False, off["id"]: True}
    enabled = (await gateway.fetch("/api/channel/test?scope=enabled", cookie=root)).json["data"]
    assert sorted(r["id"] for r in enabled) == [good["id"], bad["id"]]
    disabled = (await gateway.fetch("/api/channel/test?scope=disabled", cookie=root)).json["data"]
    assert [r["id"] for r in disabled] == [off["id"]]
    await refused(gateway, "/api/channel/test?scope=some", cookie=root, status=400)


@pytest.mark.gen_test(timeout=60)
async def test_balance_from_the_upstream_billing_endpoints(gateway, upstream):
    root = await gateway.root()
    [made] = await create(gateway, root, upstream.url, openai_organization="org-b")
    response = await gateway.fetch(f"/api/channel/update_balance/{made['id']}", cookie=root)
    assert response.status == 200 and response.json["data"]["balance"] == BALANCE
    stored = await gateway.services.db.channels.get(made["id"])
    assert stored.balance == BALANCE and stored.balance_updated_time > 0
    paths = [p for p, _, _ in upstream.requests]
    assert paths[0] == "/v1/dashboard/billing/subscription"
    assert paths[1].startswith("/v1/dashboard/billing/usage?start_date=") and "&end_date=" in paths[1]
    assert upstream.requests[0][1]["Openai-Organization"] == "org-b"


@pytest.mark.gen_test(timeout=60)
async def test_balance_failures_and_the_all_channel_update(gateway, upstream):
    root = await gateway.root()
    [ok] = await create(gateway, root, upstream.url, name="ok")
    [dead] = await create(gateway, root, upstream.url, name="dead", key="key-dead")
    [claude] = await create(gateway, root, upstream.url, name="claude", type=14)
    message = await refused(gateway, f"/api/channel/update_balance/{dead['id']}", cookie=root, status=502)
    assert "401" in message and (await gateway.services.db.channels.get(dead["id"])).balance_updated_time == 0
    await refused(gateway, f"/api/channel/update_balance/{claude['id']}", cookie=root, status=400)
    await refused(gateway, "/api/channel/update_balance/999", cookie=root, status=404)
    results = (await gateway.fetch("/api/channel/update_balance", cookie=root)).json["data"]
    by_id = {r["id"]: r for r in results}
    assert set(by_id) == {ok["id"], dead["id"]}
    assert by_id[ok["id"]] == {"id": ok["id"], "success": True, "balance": BALANCE}
    assert by_id[dead["id"]]["success"] is False


@pytest.mark.gen_test(timeout=60)
async def test_a_spent_balance_disables_the_channel_when_automatic_disabling_is_on(gateway, upstream):
    root = await gateway.root()
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    [spent] = await create(gateway, root, upstream.url, key="key-broke")
    response = await gateway.fetch(f"/api/channel/update_balance/{spent['id']}", cookie=root)
    assert response.json["data"]["balance"] == 0
    stored = await gateway.services.db.channels.get(spent["id"])
    assert stored.status == STATUS_AUTO_DISABLED and "balance" in stored.status_reason


@pytest.mark.gen_test(timeout=60)
async def test_delete_disabled_and_batch_delete(gateway, upstream):
    root = await gateway.root()
    [keep] = await create(gateway, root, upstream.url, name="keep")
    [manual] = await create(gateway, root, upstream.url, name="manual")
    [auto] = await create(gateway, root, upstream.url, name="auto")
    await gateway.fetch("/api/channel/", "PUT", cookie=root, json={"id": manual["id"], "status": STATUS_MANUALLY_DISABLED})
    await gateway.services.channels.disable_automatically(auto["id"], "dead")
    response = await gateway.fetch("/api/channel/disabled", "DELETE", cookie=root)
    assert response.json["data"] == 2
    assert [c.id for c in await gateway.services.db.channels.all()] == [keep["id"]]
    assert await abilities(gateway, manual["id"]) == [] and await abilities(gateway, auto["id"]) == []
    assert (await gateway.fetch("/api/channel/disabled", "DELETE", cookie=root)).json["data"] == 0
    await refused(gateway, "/api/channel/batch", "POST", cookie=root, json={"ids": "all"}, status=400)
    assert (await gateway.fetch("/api/channel/batch", "POST", cookie=root, json={"ids": [keep["id"]]})).json["data"] == 1
    assert await channel_count(gateway) == 0


@pytest.mark.gen_test(timeout=60)
async def test_used_quota_is_shown_per_channel(gateway, upstream):
    root = await gateway.root()
    [made] = await create(gateway, root, upstream.url)
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
    await gateway.settled()
    shown = (await gateway.fetch(f"/api/channel/{made['id']}", cookie=root)).json["data"]
    assert shown["used_quota"] > 0 and shown["used_quota"] == 1_000_000 - await gateway.quota_of(user)
