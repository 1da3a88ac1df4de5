"""Redemption codes over /api: batches made by administrators, listed, searched, edited, disabled and
deleted; redeemed by users exactly once, even when many try the same code at the same moment."""
import asyncio

import pytest

from models.logs import TYPE_TOPUP
from models.redemptions import STATUS_DISABLED, STATUS_ENABLED, STATUS_USED
from services.redemptions import RECOVER_AFTER
from tests.api_support import admin, ok, refused, session, warm_pool

gen_test = pytest.mark.gen_test(timeout=60)


async def make_codes(gateway, cookie, name="promo", quota=1000, count=3):
    return ok(await gateway.fetch("/api/redemption/", "POST", json={"name": name, "quota": quota, "count": count},
                                  cookie=cookie))


async def code_count(gateway):
    return (await gateway.services.db.redemptions.page("", 0, 1))[1]


@gen_test
async def test_make_a_batch_list_search_and_get(gateway):
    _, cookie = await admin(gateway)
    keys = await make_codes(gateway, cookie, count=3)
    await make_codes(gateway, cookie, name="other", count=1)

    assert len(keys) == 3 and len(set(keys)) == 3
    assert all(len(k) == 32 and k.isalnum() for k in keys)
    listed = ok(await gateway.fetch("/api/redemption/?p=1&page_size=2", cookie=cookie))
    assert listed["total"] == 4 and len(listed["items"]) == 2 and listed["items"][0]["name"] == "other"
    found = ok(await gateway.fetch("/api/redemption/search?keyword=PROM", cookie=cookie))
    assert found["total"] == 3 and {c["key"] for c in found["items"]} == set(keys)
    by_key = ok(await gateway.fetch(f"/api/redemption/search?keyword={keys[1]}", cookie=cookie))["items"]
    assert [c["key"] for c in by_key] == [keys[1]]
    one = ok(await gateway.fetch(f"/api/redemption/{by_key[0]['id']}", cookie=cookie))
    assert (one["quota"], one["status"], one["name"]) == (1000, STATUS_ENABLED, "promo")
    refused(await gateway.fetch("/api/redemption/424242", cookie=cookie), 404)


@gen_test
@pytest.mark.parametrize("body,words", [
    ({"name": "", "quota": 10, "count": 1}, "name"),
    ({"name": "x" * 21, "quota": 10, "count": 1}, "name"),
    ({"name": "ok", "quota": 0, "count": 1}, "quota"),
    ({"name": "ok", "quota": "10", "count": 1}, "quota"),
    ({"name": "ok", "quota": 10, "count": 0}, "count"),
    ({"name": "ok", "quota": 10, "count": 101}, "count"),
    ({"name": "ok", "quota": 10 ** 30, "count": 1}, "too large"),
])
async def test_bad_batches_are_refused_and_make_nothing(gateway, body, words):
    _, cookie = await admin(gateway)
    refused(await gateway.fetch("/api/redemption/", "POST", json=body, cookie=cookie), 400, words)
    assert await code_count(gateway) == 0


@gen_test
async def test_ids_and_pages_past_64_bits_are_refused_not_failed(gateway):
    _, cookie = await admin(gateway)
    refused(await gateway.fetch("/api/redemption/", "PUT", json={"id": 10 ** 30, "name": "x"}, cookie=cookie),
            400, "too large")
    refused(await gateway.fetch(f"/api/redemption/?p={10 ** 23}", cookie=cookie), 400, "too large")
    assert ok(await gateway.fetch(f"/api/redemption/?p={10 ** 15}", cookie=cookie))["items"] == []
    for keyword in ("99999999999999999999", "%C2%B2"):
        assert ok(await gateway.fetch(f"/api/redemption/search?keyword={keyword}", cookie=cookie))["items"] == []


@gen_test
async def test_a_hundred_codes_in_one_batch(gateway):
    _, cookie = await admin(gateway)
    keys = await make_codes(gateway, cookie, count=100)
    assert len(set(keys)) == 100 and await code_count(gateway) == 100


@gen_test
async def test_redemption_routes_are_for_administrators(gateway):
    _, admin_cookie = await admin(gateway)
    [key] = await make_codes(gateway, admin_cookie, count=1)
    code = await gateway.services.db.redemptions.by_key(key)
    _, cookie = await session(gateway, "nosy")
    calls = [("GET", "/api/redemption/", None), ("GET", "/api/redemption/search?keyword=p", None),
             ("GET", f"/api/redemption/{code.id}", None), ("DELETE", f"/api/redemption/{code.id}", None),
             ("POST", "/api/redemption/", {"name": "mine", "quota": 10 ** 9, "count": 1}),
             ("PUT", "/api/redemption/", {"id": code.id, "quota": 10 ** 9}),
             ("DELETE", "/api/redemption/invalid", None)]
    for method, path, body in calls:
        refused(await gateway.fetch(path, method, json=body, cookie=cookie), 403)
        refused(await gateway.fetch(path, method, json=body), 401)
    assert await code_count(gateway) == 1
    assert (await gateway.services.db.redemptions.get(code.id)).quota == 1000


@gen_test
async def test_redeem_adds_quota_once_and_logs_a_top_up(gateway):
    _, admin_cookie = await admin(gateway)
    [key] = await make_codes(gateway, admin_cookie, quota=2500, count=1)
    user, cookie = await session(gateway, "buyer", quota=100)

    assert ok(await gateway.fetch("/api/user/topup", "POST", json={"key": key}, cookie=cookie)) == 2500

    assert await gateway.quota_of(user) == 2600
    code = await gateway.services.db.redemptions.by_key(key)
    assert code.status == STATUS_USED and code.used_user_id == user.id and code.redeemed_time > 0
    [entry] = await gateway.logs(type=TYPE_TOPUP, user_id=user.id)
    assert entry["quota"] == 2500 and entry["username"] == "buyer"
    refused(await gateway.fetch("/api/user/topup", "POST", json={"key": key}, cookie=cookie), 409, "already")
    assert await gateway.quota_of(user) == 2600


@gen_test
async def test_bad_redemptions_are_refused(gateway):
    _, admin_cookie = await admin(gateway)
    [key] = await make_codes(gateway, admin_cookie, count=1)
    code = await gateway.services.db.redemptions.by_key(key)
    ok(await gateway.fetch("/api/redemption/?status_only=true", "PUT", json={"id": code.id, "status": 2},
                           cookie=admin_cookie))
    user, cookie = await session(gateway, "tries")

    def redeem(body):
        return gateway.fetch("/api/user/topup", "POST", json=body, cookie=cookie)

    refused(await redeem({"key": key}), 403, "disabled")
    refused(await redeem({"key": "N" * 32}), 404, "no such")
    refused(await redeem({}), 400, "key")
    refused(await redeem({"key": 12}), 400, "key")
    refused(await gateway.fetch("/api/user/topup", "POST", body=b"not json", cookie=cookie), 400, "JSON")
    assert await gateway.quota_of(user) == 0
    assert await gateway.logs(type=TYPE_TOPUP) == []


@gen_test
async def test_fifty_concurrent_redemptions_of_one_code_pay_once(gateway):
    _, admin_cookie = await admin(gateway)
    [key] = await make_codes(gateway, admin_cookie, quota=777, count=1)
    users = [await gateway.make_user(f"racer{n}", quota=0) for n in range(5)]
    keys = [await gateway.services.accounts.new_access_token(u) for u in users]
    await warm_pool(gateway)

    responses = await asyncio.gather(*[
        gateway.fetch("/api/user/topup", "POST", json={"key": key}, key=keys[n % 5]) for n in range(50)])

    assert sorted(r.status for r in responses) == [200] + [409] * 49
    balances = [await gateway.quota_of(u) for u in users]
    assert sorted(balances) == [0, 0, 0, 0, 777]
    assert len(await gateway.logs(type=TYPE_TOPUP)) == 1


@gen_test
async def test_fifty_redemptions_racing_inside_one_process_pay_once(gateway):
    """The same race without HTTP in between, so every claim is in flight at the same moment."""
    admin_user, _ = await admin(gateway)
    [key] = await gateway.services.redemptions.create(admin_user, {"name": "race", "quota": 500, "count": 1})
    user = await gateway.make_user("racer", quota=0)
    await warm_pool(gateway)

    results = await asyncio.gather(*[gateway.services.redemptions.redeem(user, key) for _ in range(50)],
                                   return_exceptions=True)

    assert results.count(500) == 1
    assert all(getattr(r, "status", None) == 409 for r in results if r != 500)
    assert await gateway.quota_of(user) == 500
    assert len(await gateway.logs(type=TYPE_TOPUP)) == 1


@gen_test
async def test_edit_disable_and_delete_codes(gateway):
    _, cookie = await admin(gateway)
    keys = await make_codes(gateway, cookie, count=3)
    codes = [await gateway.services.db.redemptions.by_key(k) for k in keys]

    edited = ok(await gateway.fetch("/api/redemption/", "PUT", json={"id": codes[0].id, "name": "renamed",
                                                                     "quota": 50}, cookie=cookie))
    assert (edited["name"], edited["quota"], edited["status"]) == ("renamed", 50, STATUS_ENABLED)
    only = ok(await gateway.fetch("/api/redemption/?status_only=true", "PUT", cookie=cookie,
                                  json={"id": codes[0].id, "status": STATUS_DISABLED, "quota": 99999}))
    assert (only["status"], only["quota"]) == (STATUS_DISABLED, 50)
    refused(await gateway.fetch("/api/redemption/", "PUT", json={"id": codes[1].id, "status": 3}, cookie=cookie),
            400, "status")
    refused(await gateway.fetch("/api/redemption/", "PUT", json={"id": codes[1].id, "quota": -1, "name": "n"},
                                cookie=cookie), 400, "quota")
    assert (await gateway.services.db.redemptions.get(codes[1].id)).name == "promo"
    refused(await gateway.fetch("/api/redemption/", "PUT", json={"id": 999, "name": "x"}, cookie=cookie), 404)

    user, user_cookie = await session(gateway, "spender")
    ok(await gateway.fetch("/api/user/topup", "POST", json={"key": keys[1]}, cookie=user_cookie))
    refused(await gateway.fetch("/api/redemption/", "PUT", json={"id": codes[1].id, "quota": 10 ** 6},
                                cookie=cookie), 409, "used")

    assert ok(await gateway.fetch("/api/redemption/invalid", "DELETE", cookie=cookie)) == 2
    left = ok(await gateway.fetch("/api/redemption/", cookie=cookie))["items"]
    assert [c["id"] for c in left] == [codes[2].id]
    ok(await gateway.fetch(f"/api/redemption/{codes[2].id}", "DELETE", cookie=cookie))
    refused(await gateway.fetch(f"/api/redemption/{codes[2].id}", "DELETE", cookie=cookie), 404)
    assert await code_count(gateway) == 0


@gen_test
async def test_a_code_left_claimed_but_uncredited_by_a_dying_process_is_credited_once(gateway):
    _, admin_cookie = await admin(gateway)
    [key] = await make_codes(gateway, admin_cookie, quota=700, count=1)
    user = await gateway.make_user(username="gus", quota=0)
    services = gateway.services
    code = await services.db.redemptions.claim(key, user.id, 1000)      # the process died right here
    assert code is not None

    await services.redemptions.recover_uncredited(now=1000 + RECOVER_AFTER - 1)        # too soon
    assert (await services.db.users.get(user.id)).quota == 0
    assert await services.redemptions.delete_invalid() == 0       # a code still owed is not deleted
    await services.redemptions.recover_uncredited(now=1000 + RECOVER_AFTER + 1)
    await services.redemptions.recover_uncredited(now=1000 + RECOVER_AFTER + 2)        # nothing left to do
    assert (await services.db.users.get(user.id)).quota == 700
    logs = (await services.db.logs.page({"user_id": user.id, "type": TYPE_TOPUP}, 0, 10))[0]
    assert len(logs) == 1
    assert await services.redemptions.delete_invalid() == 1
