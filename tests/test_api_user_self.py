"""A user's own account over /api: register (with invite codes), log in and out, read and change the
account, access tokens, invite code, models, groups, dashboard data, deleting the account."""
import time

import pytest

from models.logs import TYPE_CONSUME, TYPE_SYSTEM
from models.users import STATUS_DISABLED
from tests.api_support import PASSWORD, ok, refused, session

DAY = 86400
gen_test = pytest.mark.gen_test(timeout=60)    # argon2 hashes take a while on busy machines
# Users stay cached for long: a change must drop the cached copy, not wait for it to expire.
long_cache = pytest.mark.parametrize("settings_overrides", [{"token_cache_seconds": 600}])


async def register(gateway, username, **extra):
    return await gateway.fetch("/api/user/register", "POST",
                               json={"username": username, "password": "secret-pass", **extra})


@gen_test
async def test_register_log_in_read_self_and_log_out(gateway):
    await gateway.services.options.set("QuotaForNewUser", "250")
    data = ok(await register(gateway, "dora", display_name="Dora E."))
    cookie = await gateway.login("dora", "secret-pass")

    me = ok(await gateway.fetch("/api/user/self", cookie=cookie))

    assert me["id"] == data["id"] and me["username"] == "dora" and me["display_name"] == "Dora E."
    assert me["quota"] == 250 and me["role"] == 1 and me["status"] == 1 and len(me["aff_code"]) >= 4
    assert not {"password", "password_hash", "access_token", "access_token_hash"} & set(me)
    ok(await gateway.fetch("/api/user/logout", cookie=cookie))


@gen_test
async def test_every_user_gets_a_different_invite_code(gateway):
    codes = set()
    for n in range(5):
        ok(await register(gateway, f"user{n}"))
        codes.add((await gateway.services.db.users.by_username(f"user{n}")).aff_code)
    assert len(codes) == 5 and all(codes)


@gen_test
@long_cache
async def test_registering_with_an_invite_code_rewards_both(gateway):
    options = gateway.services.options
    await options.set("QuotaForNewUser", "100")
    await options.set("QuotaForInviter", "7000")
    await options.set("QuotaForInvitee", "3000")
    inviter, cookie = await session(gateway, "ivan", quota=10)
    code = ok(await gateway.fetch("/api/user/aff", cookie=cookie))
    assert code == ok(await gateway.fetch("/api/user/aff", cookie=cookie))    # stable once made

    ok(await register(gateway, "newbie", aff_code=code))

    newbie = await gateway.services.db.users.by_username("newbie")
    assert newbie.quota == 100 + 3000 and newbie.inviter_id == inviter.id
    assert await gateway.quota_of(inviter) == 10 + 7000
    assert ok(await gateway.fetch("/api/user/self", cookie=cookie))["quota"] == 7010   # cache dropped
    rewards = await gateway.logs(type=TYPE_SYSTEM)
    assert sorted((e["user_id"], e["quota"]) for e in rewards) == sorted([(inviter.id, 7000), (newbie.id, 3000)])


@gen_test
@pytest.mark.parametrize("body,status,words", [
    ({"username": "x y", "password": "secret-pass"}, 400, "username"),
    ({"username": "ok", "password": "short"}, 400, "password"),
    ({"username": "ok", "password": "secret-pass", "aff_code": "nobody-has-this"}, 400, "invite code"),
    ({"username": "ok", "password": "secret-pass", "display_name": "x" * 21}, 400, "display_name"),
    ({"username": "root", "password": "secret-pass"}, 409, "taken"),
])
async def test_bad_registrations_are_refused_and_write_nothing(gateway, body, status, words):
    before = await gateway.services.db.users.count()
    refused(await gateway.fetch("/api/user/register", "POST", json=body), status, words)
    assert await gateway.services.db.users.count() == before


@gen_test
async def test_registration_can_be_closed(gateway):
    await gateway.services.options.set("RegisterEnabled", "false")
    refused(await register(gateway, "late"), 403, "closed")
    assert await gateway.services.db.users.by_username("late") is None


@gen_test
@long_cache
async def test_change_display_name_and_password(gateway):
    user, cookie = await session(gateway, "pat")
    data = ok(await gateway.fetch("/api/user/self", "PUT", json={"display_name": "Patricia"}, cookie=cookie))
    assert data["display_name"] == "Patricia"

    refused(await gateway.fetch("/api/user/self", "PUT", json={"password": "new-password"}, cookie=cookie),
            403, "current password")
    refused(await gateway.fetch("/api/user/self", "PUT", cookie=cookie,
                                json={"password": "new-password", "original_password": "wrong-one"}), 403)
    refused(await gateway.fetch("/api/user/self", "PUT", cookie=cookie,
                                json={"password": "short", "original_password": PASSWORD}), 400, "password")
    await gateway.login("pat", PASSWORD)          # still the old password after every refusal

    ok(await gateway.fetch("/api/user/self", "PUT", cookie=cookie,
                           json={"password": "new-password", "original_password": PASSWORD}))
    await gateway.login("pat", "new-password")
    response = await gateway.fetch("/api/user/login", "POST", json={"username": "pat", "password": PASSWORD})
    refused(response, 401)


@gen_test
@long_cache
async def test_a_new_password_ends_every_other_session_and_keeps_this_one(gateway):
    user, first = await session(gateway, "sam")
    second = await gateway.login("sam", PASSWORD)            # the same user on another browser
    response = await gateway.fetch("/api/user/self", "PUT", cookie=first,
                                   json={"password": "new-password", "original_password": PASSWORD})
    ok(response)
    renewed = response.headers.get("Set-Cookie").split(";", 1)[0]

    refused(await gateway.fetch("/api/user/self", cookie=second), 401, "not logged in")
    refused(await gateway.fetch("/api/user/self", cookie=first), 401, "not logged in")
    assert ok(await gateway.fetch("/api/user/self", cookie=renewed))["username"] == "sam"


@gen_test
@long_cache
async def test_a_password_set_by_an_administrator_ends_the_users_sessions(gateway):
    user, cookie = await session(gateway, "tess")
    _, root = await session(gateway, "boss", role=100)
    me = ok(await gateway.fetch("/api/user/self", cookie=cookie))
    ok(await gateway.fetch("/api/user/", "PUT", cookie=root, json={**me, "password": "reset-by-root"}))
    refused(await gateway.fetch("/api/user/self", cookie=cookie), 401, "not logged in")
    assert ok(await gateway.fetch("/api/user/self", cookie=await gateway.login("tess", "reset-by-root")))


@gen_test
async def test_self_routes_need_a_login(gateway):
    for method, path in [("GET", "/api/user/self"), ("PUT", "/api/user/self"), ("DELETE", "/api/user/self"),
                         ("GET", "/api/user/token"), ("GET", "/api/user/aff"), ("POST", "/api/user/topup"),
                         ("GET", "/api/user/models"), ("GET", "/api/user/self/groups"),
                         ("GET", "/api/user/dashboard")]:
        refused(await gateway.fetch(path, method, json={} if method != "GET" else None), 401, "not logged in")


@gen_test
async def test_access_token_works_as_authorization_and_a_new_one_ends_the_old(gateway):
    user, cookie = await session(gateway, "tina")
    first = ok(await gateway.fetch("/api/user/token", cookie=cookie))
    assert len(first) == 32
    assert ok(await gateway.fetch("/api/user/self", headers={"Authorization": first}))["username"] == "tina"
    assert ok(await gateway.fetch("/api/user/self", key=first))["id"] == user.id     # "Bearer ..." too

    second = ok(await gateway.fetch("/api/user/token", key=first))

    refused(await gateway.fetch("/api/user/self", key=first), 401)
    assert ok(await gateway.fetch("/api/user/self", key=second))["username"] == "tina"


@gen_test
@long_cache
async def test_a_disabled_user_is_refused_at_once(gateway):
    user, cookie = await session(gateway, "dave")
    token = ok(await gateway.fetch("/api/user/token", cookie=cookie))
    api_key = await gateway.make_token(user)
    ok(await gateway.fetch("/api/user/self", cookie=cookie))       # now cached
    assert (await gateway.fetch("/v1/models", key=api_key)).status == 200
    root = await gateway.root()

    ok(await gateway.fetch("/api/user/manage", "POST", json={"id": user.id, "action": "disable"}, cookie=root))

    refused(await gateway.fetch("/api/user/self", cookie=cookie), 403, "disabled")
    refused(await gateway.fetch("/api/user/self", key=token), 403, "disabled")
    relayed = await gateway.fetch("/v1/models", key=api_key)
    assert relayed.status == 403 and relayed.json["error"]["code"] == "user_disabled"
    refused(await gateway.fetch("/api/user/login", "POST", json={"username": "dave", "password": PASSWORD}), 403)
    assert (await gateway.services.db.users.get(user.id)).status == STATUS_DISABLED


@gen_test
async def test_models_and_groups_a_user_may_use(gateway, upstream):
    await gateway.make_channel(upstream.url, models="gpt-4o-mini,gpt-4o")
    await gateway.make_channel(upstream.url, models="claude-x", group="vip")
    await gateway.services.options.set("UserUsableGroups", '{"default": "Everyone", "vip": "Paying"}')
    await gateway.services.options.set("GroupRatio", '{"default": 1, "vip": 0.5}')
    _, cookie = await session(gateway, "mo")
    _, special = await session(gateway, "sam", group="special")

    assert ok(await gateway.fetch("/api/user/models", cookie=cookie)) == ["gpt-4o", "gpt-4o-mini"]
    assert ok(await gateway.fetch("/api/user/available_models", cookie=cookie)) == ["gpt-4o", "gpt-4o-mini"]
    groups = ok(await gateway.fetch("/api/user/self/groups", cookie=cookie))
    assert groups == {"default": {"desc": "Everyone", "ratio": 1}, "vip": {"desc": "Paying", "ratio": 0.5}}
    assert set(ok(await gateway.fetch("/api/user/self/groups", cookie=special))) == {"default", "vip", "special"}


@gen_test
async def test_dashboard_sums_the_last_days_by_day_and_model(gateway):
    user, cookie = await session(gateway, "dash")
    other, _ = await session(gateway, "other")
    now = int(time.time())
    today = now - now % DAY

    def entry(at, model, quota, prompt, completion, owner=user, log_type=TYPE_CONSUME):
        return {"type": log_type, "created_at": at, "user_id": owner.id, "username": owner.username,
                "model_name": model, "quota": quota, "prompt_tokens": prompt, "completion_tokens": completion}

    await gateway.services.db.logs.insert_many([
        entry(today + 1, "gpt-4o", 100, 10, 5), entry(today + 2, "gpt-4o", 50, 1, 1),
        entry(today + 3, "gpt-4o-mini", 7, 2, 2), entry(today - 6 * DAY, "gpt-4o", 30, 3, 3),
        entry(today - 7 * DAY, "gpt-4o", 999, 9, 9),                       # eight days ago: left out
        entry(today + 4, "gpt-4o", 555, 5, 5, owner=other),                # someone else's
        entry(today + 5, "", 800, 0, 0, log_type=1),                       # a top-up, not consumption
    ])

    rows = ok(await gateway.fetch("/api/user/dashboard", cookie=cookie))

    def day(ts):
        return time.strftime("%Y-%m-%d", time.gmtime(ts))

    assert rows == [
        {"day": day(today - 6 * DAY), "model_name": "gpt-4o", "request_count": 1, "quota": 30,
         "prompt_tokens": 3, "completion_tokens": 3, "tokens": 6},
        {"day": day(today), "model_name": "gpt-4o", "request_count": 2, "quota": 150,
         "prompt_tokens": 11, "completion_tokens": 6, "tokens": 17},
        {"day": day(today), "model_name": "gpt-4o-mini", "request_count": 1, "quota": 7,
         "prompt_tokens": 2, "completion_tokens": 2, "tokens": 4},
    ]
    assert len(ok(await gateway.fetch("/api/user/dashboard?days=1", cookie=cookie))) == 2
    refused(await gateway.fetch("/api/user/dashboard?days=31", cookie=cookie), 400, "days")
    refused(await gateway.fetch("/api/user/dashboard?days=x", cookie=cookie), 400, "days")


@gen_test
async def test_delete_own_account_but_never_root(gateway):
    user, cookie = await session(gateway, "gone")
    ok(await gateway.fetch("/api/user/self", "DELETE", cookie=cookie))
    assert await gateway.services.db.users.get(user.id) is None
    refused(await gateway.fetch("/api/user/self", cookie=cookie), 401)

    root = await gateway.root()
    refused(await gateway.fetch("/api/user/self", "DELETE", cookie=root), 403, "root")
    assert await gateway.services.db.users.by_username("root") is not None
