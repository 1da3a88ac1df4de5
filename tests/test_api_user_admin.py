"""Administrators managing users over /api: list, search, get, create, edit, delete, manage actions and
balance credits/debits, with the role rules (an admin only touches lower roles; root is untouchable)."""
import asyncio

import pytest

from models.logs import TYPE_MANAGE
from models.users import ROLE_ADMIN, ROLE_ROOT, ROLE_USER, STATUS_DISABLED, STATUS_ENABLED
from tests.api_support import PASSWORD, admin, ok, refused, session, warm_pool

gen_test = pytest.mark.gen_test(timeout=60)


async def count_users(gateway):
    return await gateway.services.db.users.count()


@gen_test
async def test_list_and_search_users_with_paging(gateway):
    _, cookie = await admin(gateway)
    for name, quota in (("amy", 30), ("ben", 10), ("bea", 20)):
        await gateway.make_user(name, quota=quota)

    page = ok(await gateway.fetch("/api/user/?p=1&page_size=2", cookie=cookie))
    assert page["total"] == 5 and page["page"] == 1 and page["page_size"] == 2
    assert [u["username"] for u in page["items"]] == ["bea", "ben"]          # newest first
    assert [u["username"] for u in ok(await gateway.fetch("/api/user/?p=3&page_size=2", cookie=cookie))["items"]] \
        == ["root"]
    by_quota = ok(await gateway.fetch("/api/user/?order=quota", cookie=cookie))["items"]
    assert by_quota[0]["username"] == "root" and [u["username"] for u in by_quota[1:4]] == ["amy", "bea", "ben"]
    found = ok(await gateway.fetch("/api/user/search?keyword=BE", cookie=cookie))
    assert found["total"] == 2 and {u["username"] for u in found["items"]} == {"ben", "bea"}
    root_id = (await gateway.services.db.users.by_username("root")).id
    by_id = ok(await gateway.fetch(f"/api/user/search?keyword={root_id}", cookie=cookie))["items"]
    assert "root" in [u["username"] for u in by_id]      # by id (and "admin1" by name)
    for not_an_id in ("99999999999999999999", "%C2%B2"):    # past 64 bits; "²", a digit int() refuses
        assert ok(await gateway.fetch(f"/api/user/search?keyword={not_an_id}", cookie=cookie))["total"] == 0
    assert all("password_hash" not in u and "access_token_hash" not in u for u in page["items"])
    refused(await gateway.fetch("/api/user/?order=password", cookie=cookie), 400, "order")


@gen_test
async def test_user_routes_are_refused_below_admin(gateway):
    target, cookie = await session(gateway, "plain")
    calls = [("GET", "/api/user/", None), ("GET", "/api/user/search?keyword=a", None),
             ("GET", f"/api/user/{target.id}", None), ("DELETE", f"/api/user/{target.id}", None),
             ("POST", "/api/user/", {"username": "x1", "password": "password1"}),
             ("PUT", "/api/user/", {"id": target.id, "display_name": "hacked"}),
             ("POST", "/api/user/manage", {"id": target.id, "action": "disable"}),
             ("POST", "/api/user/quota", {"id": target.id, "delta": 1000})]
    for method, path, body in calls:
        refused(await gateway.fetch(path, method, json=body, cookie=cookie), 403, "not allowed")
        refused(await gateway.fetch(path, method, json=body), 401)
    user = await gateway.services.db.users.get(target.id)
    assert (user.display_name, user.status, user.quota) == ("plain", STATUS_ENABLED, 0)


@gen_test
async def test_an_admin_cannot_touch_equal_or_higher_roles(gateway):
    _, cookie = await admin(gateway)
    other = await gateway.make_user("admin2", role=ROLE_ADMIN)
    root = await gateway.services.db.users.by_username("root")
    for target in (other, root):
        refused(await gateway.fetch(f"/api/user/{target.id}", cookie=cookie), 403, "equal to or higher")
        refused(await gateway.fetch("/api/user/", "PUT", json={"id": target.id, "display_name": "x"}, cookie=cookie),
                403)
        refused(await gateway.fetch("/api/user/quota", "POST", json={"id": target.id, "delta": 5}, cookie=cookie),
                403)
        refused(await gateway.fetch(f"/api/user/{target.id}", "DELETE", cookie=cookie), 403)
    refused(await gateway.fetch("/api/user/manage", "POST", json={"id": other.id, "action": "disable"},
                                cookie=cookie), 403)
    assert (await gateway.services.db.users.get(other.id)).status == STATUS_ENABLED
    assert (await gateway.services.db.users.get(root.id)).display_name == "Root User"


@gen_test
async def test_get_create_and_edit_a_user(gateway):
    _, cookie = await admin(gateway)
    created = ok(await gateway.fetch("/api/user/", "POST", cookie=cookie, json={
        "username": "newcomer", "password": "first-pass", "display_name": "New", "quota": 500}))
    assert created["role"] == ROLE_USER and created["quota"] == 500 and created["aff_code"]
    await gateway.login("newcomer", "first-pass")
    assert ok(await gateway.fetch(f"/api/user/{created['id']}", cookie=cookie))["display_name"] == "New"

    edited = ok(await gateway.fetch("/api/user/", "PUT", cookie=cookie, json={
        "id": created["id"], "display_name": "Renamed", "group": "vip", "password": "second-pass", "quota": 800}))

    assert (edited["display_name"], edited["group"], edited["quota"]) == ("Renamed", "vip", 800)
    await gateway.login("newcomer", "second-pass")
    [entry] = await gateway.logs(type=TYPE_MANAGE, user_id=created["id"], keyword="balance")
    assert entry["other"]["delta"] == 300 and entry["other"]["admin"] == "admin1"
    refused(await gateway.fetch("/api/user/999999", cookie=cookie), 404, "no such user")


@gen_test
@pytest.mark.parametrize("body,status,words", [
    ({"username": "bad name", "password": "password1"}, 400, "username"),
    ({"username": "okname", "password": "short"}, 400, "password"),
    ({"username": "okname", "password": "password1", "group": "no-such-group"}, 400, "group"),
    ({"username": "okname", "password": "password1", "quota": -5}, 400, "quota"),
    ({"username": "okname", "password": "password1", "role": ROLE_ADMIN}, 400, "role"),
    ({"username": "root", "password": "password1"}, 409, "taken"),
])
async def test_bad_user_creation_is_refused_and_writes_nothing(gateway, body, status, words):
    _, cookie = await admin(gateway)
    before = await count_users(gateway)
    refused(await gateway.fetch("/api/user/", "POST", json=body, cookie=cookie), status, words)
    assert await count_users(gateway) == before


@gen_test
@pytest.mark.parametrize("change,status,words", [
    ({"display_name": "fine", "group": "nope"}, 400, "group"),
    ({"display_name": "fine", "quota": -1}, 400, "quota"),
    ({"display_name": "fine", "quota": "many"}, 400, "quota"),
    ({"display_name": "fine", "password": "short"}, 400, "password"),
    ({"display_name": "fine", "username": "admin1"}, 409, "taken"),
])
async def test_bad_user_edits_are_refused_and_change_nothing(gateway, change, status, words):
    _, cookie = await admin(gateway)
    target = await gateway.make_user("victim", quota=70)
    refused(await gateway.fetch("/api/user/", "PUT", json={"id": target.id, **change}, cookie=cookie), status, words)
    after = await gateway.services.db.users.get(target.id)
    assert (after.username, after.display_name, after.quota, after.group) == ("victim", "victim", 70, "default")
    await gateway.login("victim", PASSWORD)


@gen_test
async def test_a_balance_edit_never_overwrites_a_charge_made_meanwhile(gateway):
    users = gateway.services.db.users
    target = await gateway.make_user("racer", quota=1000)
    await users.take_quota(target.id, 100)                   # charged after the editor read 1000
    assert not await users.update(target.id, {"quota": 5000}, quota_was=1000)
    assert await users.quota_of(target.id) == 900
    assert await users.update(target.id, {"quota": 5000}, quota_was=900)
    assert await users.quota_of(target.id) == 5000


@gen_test
async def test_manage_actions_and_their_rules(gateway):
    _, admin_cookie = await admin(gateway)
    root = await gateway.root()
    target = await gateway.make_user("mia")

    def manage(body, cookie=root):
        return gateway.fetch("/api/user/manage", "POST", json=body, cookie=cookie)

    assert ok(await manage({"username": "mia", "action": "disable"}, admin_cookie)) == \
        {"role": ROLE_USER, "status": STATUS_DISABLED}
    assert ok(await manage({"id": target.id, "action": "enable"}, admin_cookie))["status"] == STATUS_ENABLED
    refused(await manage({"id": target.id, "action": "promote"}, admin_cookie), 403, "only root")
    assert ok(await manage({"id": target.id, "action": "promote"}))["role"] == ROLE_ADMIN
    refused(await manage({"id": target.id, "action": "promote"}), 409, "already")
    refused(await manage({"id": target.id, "action": "disable"}, admin_cookie), 403)   # now an equal
    assert ok(await manage({"id": target.id, "action": "demote"}))["role"] == ROLE_USER
    refused(await manage({"id": target.id, "action": "demote"}), 409, "already")
    for action in ("demote", "disable", "delete"):
        refused(await manage({"username": "root", "action": action}), 403, "root user cannot")
    refused(await manage({"id": target.id, "action": "explode"}), 400, "action")
    refused(await manage({"action": "disable"}), 400, "id or username")
    refused(await manage({"username": "nobody", "action": "disable"}), 404)
    ok(await manage({"id": target.id, "action": "delete"}, admin_cookie))
    assert await gateway.services.db.users.get(target.id) is None
    root_user = await gateway.services.db.users.by_username("root")
    assert (root_user.role, root_user.status) == (ROLE_ROOT, STATUS_ENABLED)
    actions = [e["content"] for e in await gateway.logs(type=TYPE_MANAGE, user_id=target.id)]
    assert len(actions) == 5 and any("promote" in a for a in actions)


@gen_test
async def test_delete_a_user_by_id_takes_its_keys_along(gateway):
    _, cookie = await admin(gateway)
    target = await gateway.make_user("bye")
    key = await gateway.make_token(target)
    kept = await gateway.make_token(await gateway.make_user("stays"))
    ok(await gateway.fetch(f"/api/user/{target.id}", "DELETE", cookie=cookie))
    assert await gateway.services.db.users.get(target.id) is None
    assert (await gateway.services.db.tokens.page(target.id, "", 0, 10))[1] == 0
    assert (await gateway.fetch("/v1/models", key=key)).status == 401
    assert (await gateway.fetch("/v1/models", key=kept)).status == 200
    refused(await gateway.fetch(f"/api/user/{target.id}", "DELETE", cookie=cookie), 404)


@gen_test
@pytest.mark.parametrize("settings_overrides", [{"token_cache_seconds": 600}])
async def test_credit_and_debit_a_balance_with_a_manage_log(gateway):
    _, cookie = await admin(gateway)
    target, target_cookie = await session(gateway, "wallet", quota=100)
    ok(await gateway.fetch("/api/user/self", cookie=target_cookie))          # cached now

    def adjust(delta, **extra):
        return gateway.fetch("/api/user/quota", "POST", json={"id": target.id, "delta": delta, **extra}, cookie=cookie)

    assert ok(await adjust(900, remark="invoice 42")) == {"id": target.id, "quota": 1000}
    assert ok(await gateway.fetch("/api/user/self", cookie=target_cookie))["quota"] == 1000
    assert ok(await adjust(-400))["quota"] == 600
    refused(await adjust(-601), 409, "nothing was taken")
    refused(await adjust(0), 400, "zero")
    refused(await adjust("5"), 400, "delta")
    refused(await adjust(5, remark="x" * 201), 400, "remark")
    refused(await gateway.fetch("/api/user/quota", "POST", json={"delta": 5}, cookie=cookie), 400, "id")
    assert await gateway.quota_of(target) == 600
    entries = await gateway.logs(type=TYPE_MANAGE, user_id=target.id)
    assert sorted(e["other"]["delta"] for e in entries) == [-400, 900]
    assert any("invoice 42" in e["content"] for e in entries)


@gen_test
async def test_concurrent_debits_never_take_a_balance_below_zero(gateway):
    _, cookie = await admin(gateway)
    target = await gateway.make_user("busy", quota=1000)
    await warm_pool(gateway)

    responses = await asyncio.gather(*[
        gateway.fetch("/api/user/quota", "POST", json={"id": target.id, "delta": -100}, cookie=cookie)
        for _ in range(25)])

    assert sorted(r.status for r in responses) == [200] * 10 + [409] * 15
    assert await gateway.quota_of(target) == 0
    assert len(await gateway.logs(type=TYPE_MANAGE, user_id=target.id)) == 10


@gen_test
async def test_concurrent_credits_all_count(gateway):
    _, cookie = await admin(gateway)
    target = await gateway.make_user("lucky", quota=5)
    await warm_pool(gateway)
    responses = await asyncio.gather(*[
        gateway.fetch("/api/user/quota", "POST", json={"id": target.id, "delta": 37}, cookie=cookie)
        for _ in range(20)])
    assert all(r.status == 200 for r in responses)
    assert await gateway.quota_of(target) == 5 + 20 * 37


@gen_test
async def test_setting_a_balance_counts_what_serving_processes_hold_in_reserve(gateway):
    _, cookie = await admin(gateway)
    target = await gateway.make_user("served", quota=10_000)
    book = gateway.services.book
    assert await book.take("user", target.id, 100)          # a request in progress: a block is reserved
    held = (await gateway.services.db.users.get(target.id)).reserved
    assert sum(held.values()) > 100                           # the block is bigger than the request

    shown = ok(await gateway.fetch(f"/api/user/{target.id}", cookie=cookie))["quota"]
    edited = ok(await gateway.fetch("/api/user/", "PUT", json={"id": target.id, "quota": 5000}, cookie=cookie))

    assert shown == 10_000 and edited["quota"] == 5000
    assert await gateway.quota_of(target) == 5000 - 100       # the request's 100 is paid once the reserve settles
