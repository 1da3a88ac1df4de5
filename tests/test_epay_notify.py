"""The epay gateway's paid notice: the whole journey through a local gateway, every refusal, replays,
and exactly-once crediting under concurrent duplicate notices."""
import asyncio
import urllib.parse

import pytest

from models.top_ups import TopUp
from services.payments import RECOVER_AFTER, REFUSALS_LOGGED, RefusalBudget
from tests.topup_setup import UID, configure, epay, order, wxpusher  # noqa: F401  (fixtures)

QUOTA_PER_UNIT = 500000

# Logins hash passwords (argon2), which is slow on a busy machine: more than the default 5 s.
gen_test = pytest.mark.gen_test(timeout=60)


async def buyer(gateway, quota=0):
    user = await gateway.make_user("alice", quota=quota)
    return user, await gateway.login("alice", "password1")


async def notify(gateway, epay, params, method="GET"):
    return await epay.call_notify(gateway.url + "/api/user/epay/notify", params, method)


def reason(headers) -> str:
    return urllib.parse.unquote(headers.get("X-Notify-Result", ""))


async def system_logs(gateway):
    return [entry["content"] for entry in await gateway.logs(type=4)]


async def status_of(gateway, trade_no):
    return (await gateway.services.db.top_ups.by_trade_no(trade_no)).status


@gen_test
async def test_paying_through_the_gateway_credits_the_user_once(gateway, epay, wxpusher):
    await configure(gateway, epay, wxpusher)
    user, cookie = await buyer(gateway, quota=100)
    placed = await order(gateway, cookie, amount=10)

    # The browser posts the signed form to the gateway; it calls our notify_url, then sends the browser back.
    form = urllib.parse.urlencode(placed["params"])
    paid = await gateway.http.fetch(placed["url"], method="POST", body=form, follow_redirects=False,
                                    raise_error=False)

    assert paid.code == 302, paid.body
    assert epay.notify_replies == [(200, "success")]
    back = paid.headers["Location"]
    assert back.startswith(f"{gateway.url}/topup/{placed['trade_no']}?")
    page = await gateway.http.fetch(back, follow_redirects=False, raise_error=False)
    assert page.headers["Location"] == f"/#/topup?trade_no={placed['trade_no']}"
    state = (await gateway.fetch(f"/api/user/topup/{placed['trade_no']}", cookie=cookie)).json["data"]
    assert state["status"] == "success" and state["complete_time"] > 0 and state["completed_by"] == "notify"
    assert state["gateway_trade_no"] == "2024010112345678"
    assert await gateway.quota_of(user) == 100 + 10 * QUOTA_PER_UNIT
    [entry] = await gateway.logs(user_id=user.id, type=1)
    assert entry["quota"] == 10 * QUOTA_PER_UNIT and entry["username"] == "alice"
    assert placed["trade_no"] in entry["content"] and "73.00" in entry["content"]
    await gateway.services.notices.idle()
    [message] = wxpusher.messages
    assert message["appToken"] == wxpusher.app_token and message["uids"] == [UID]
    assert message["contentType"] == 1 and placed["trade_no"] in message["content"]
    assert "73.00" in message["content"] and message["summary"]


@gen_test
async def test_a_form_post_notice_is_accepted_too(gateway, epay):
    await configure(gateway, epay)
    user, cookie = await buyer(gateway)
    placed = await order(gateway, cookie, amount=2, method="wxpay")

    status, body, _ = await notify(gateway, epay, epay.notice(placed["params"]), method="POST")

    assert (status, body) == (200, "success")
    assert await gateway.quota_of(user) == 2 * QUOTA_PER_UNIT


@gen_test
async def test_a_replayed_notice_answers_success_and_moves_nothing(gateway, epay):
    await configure(gateway, epay)
    user, cookie = await buyer(gateway)
    placed = await order(gateway, cookie, amount=5)
    notice = epay.notice(placed["params"])
    assert (await notify(gateway, epay, notice))[1] == "success"

    status, body, headers = await notify(gateway, epay, notice)

    assert (status, body) == (200, "success")          # the gateway must stop re-sending
    assert "already success" in reason(headers)
    assert await gateway.quota_of(user) == 5 * QUOTA_PER_UNIT
    assert len(await gateway.logs(user_id=user.id, type=1)) == 1
    assert any("ignored: already success" in c for c in await system_logs(gateway))


@gen_test
@pytest.mark.parametrize("case, expected", [
    ("forged", "bad signature"),
    ("tampered", "bad signature"),
    ("unsigned", "bad signature"),
    ("wrong_money", "paid money does not match the order"),
    ("unknown_order", "unknown order"),
    ("other_merchant", "merchant id does not match"),
])
async def test_refused_notices_move_no_quota(gateway, epay, wxpusher, case, expected):
    await configure(gateway, epay, wxpusher)
    user, cookie = await buyer(gateway, quota=7)
    placed = await order(gateway, cookie, amount=10)
    form = placed["params"]
    notice = {
        "forged": lambda: epay.notice(form, key="not-the-merchant-key"),
        "tampered": lambda: {**epay.notice(form), "money": "0.01"},
        "unsigned": lambda: {k: v for k, v in epay.notice(form).items() if k != "sign"},
        "wrong_money": lambda: epay.notice(form, money="0.01"),
        "unknown_order": lambda: epay.notice({**form, "out_trade_no": "USR1NOzzzzzz1700000000"}),
        "other_merchant": lambda: epay.notice(form, pid="9999"),
    }[case]()

    status, body, headers = await notify(gateway, epay, notice)

    assert status == 200 and body == f"fail: {expected}" and reason(headers) == expected
    assert epay.key not in body and epay.key not in str(dict(headers))
    assert await gateway.quota_of(user) == 7
    assert await status_of(gateway, form["out_trade_no"]) == "pending"
    assert await gateway.logs(type=1) == []
    logged = await system_logs(gateway)
    assert len(logged) == 1 and expected in logged[0] and epay.key not in logged[0]
    await gateway.services.notices.idle()
    # Only a correctly signed notice with the wrong money reaches the operator (forgeries are just logged).
    assert len(wxpusher.messages) == (1 if case == "wrong_money" else 0)


@gen_test
async def test_an_unpaid_status_changes_nothing(gateway, epay):
    await configure(gateway, epay)
    user, cookie = await buyer(gateway)
    placed = await order(gateway, cookie)

    status, body, _ = await notify(gateway, epay, epay.notice(placed["params"], trade_status="WAIT_BUYER_PAY"))

    assert (status, body) == (200, "success")
    assert await status_of(gateway, placed["trade_no"]) == "pending"
    assert await gateway.quota_of(user) == 0


@gen_test
async def test_notices_are_refused_while_epay_is_not_set_up(gateway, epay):
    await configure(gateway, epay)
    user, cookie = await buyer(gateway)
    placed = await order(gateway, cookie)
    await gateway.services.options.set("EpayKey", "")

    _, body, _ = await notify(gateway, epay, epay.notice(placed["params"]))

    assert body == "fail: online top-up is not set up"
    assert await gateway.quota_of(user) == 0


@gen_test
async def test_twenty_concurrent_duplicate_notices_credit_once(gateway, epay, wxpusher):
    await configure(gateway, epay, wxpusher)
    user, cookie = await buyer(gateway, quota=0)
    placed = await order(gateway, cookie, amount=10)
    notice = epay.notice(placed["params"])
    # Warm the database pool, so the twenty notices read the order side by side rather than in turn.
    await asyncio.gather(*[gateway.services.db.top_ups.by_trade_no(placed["trade_no"]) for _ in range(20)])

    answers = await asyncio.gather(*[notify(gateway, epay, notice) for _ in range(20)])

    assert [(status, body) for status, body, _ in answers] == [(200, "success")] * 20
    assert sum(reason(headers) == "credited" for _, _, headers in answers) == 1
    assert await gateway.quota_of(user) == 10 * QUOTA_PER_UNIT
    assert len(await gateway.logs(user_id=user.id, type=1)) == 1
    assert len(await system_logs(gateway)) == 19
    await gateway.services.notices.idle()
    assert len(wxpusher.messages) == 1


@gen_test
async def test_a_refused_wxpusher_notice_does_not_undo_the_top_up(gateway, epay, wxpusher):
    await configure(gateway, epay, wxpusher, WxPusherAppToken="AT_wrong")
    user, cookie = await buyer(gateway)
    placed = await order(gateway, cookie, amount=1)

    assert (await notify(gateway, epay, epay.notice(placed["params"])))[1] == "success"

    await gateway.services.notices.idle()
    assert await gateway.quota_of(user) == QUOTA_PER_UNIT
    assert wxpusher.messages == [] and len(wxpusher.refused) == 1
    assert await gateway.services.notices.send("t", "c") is False
    await gateway.services.options.set("WxPusherAppToken", wxpusher.app_token)
    assert await gateway.services.notices.send("t", "c") is True


@gen_test
async def test_concurrent_notices_inside_one_process_credit_once(gateway, epay):
    """The same race without HTTP in between: every handler reads the order while it is still pending,
    so only the conditional update keeps the credit single."""
    await configure(gateway, epay)
    user, cookie = await buyer(gateway, quota=0)
    placed = await order(gateway, cookie, amount=4)
    notice = epay.notice(placed["params"])
    # Open enough pooled connections first, so the twenty reads really run side by side.
    await asyncio.gather(*[gateway.services.db.top_ups.by_trade_no(placed["trade_no"]) for _ in range(20)])

    results = await asyncio.gather(*[gateway.services.payments.handle_notify(dict(notice)) for _ in range(20)])

    assert [r.reply for r in results] == ["success"] * 20
    assert sum(r.credited for r in results) == 1
    assert await gateway.quota_of(user) == 4 * QUOTA_PER_UNIT


@pytest.mark.gen_test(timeout=60)
async def test_an_order_left_half_done_by_a_dying_process_is_credited_once(gateway):
    services = gateway.services
    user = await gateway.make_user(username="erin", quota=0)
    order = TopUp(id=0, user_id=user.id, amount=2, money="14.60", quota=1_000_000, trade_no="T-HALF",
                  payment_method="alipay")
    await services.db.top_ups.create(order)
    done = await services.db.top_ups.complete("T-HALF", {"complete_time": 1000, "completed_by": "notify"})
    assert done is not None                       # the process died right here, before crediting

    await services.payments.recover_uncredited(now=1000 + RECOVER_AFTER - 1)     # too soon to tell
    assert (await services.db.users.get(user.id)).quota == 0
    await services.payments.recover_uncredited(now=1000 + RECOVER_AFTER + 1)
    await services.payments.recover_uncredited(now=1000 + RECOVER_AFTER + 2)      # a second pass finds nothing
    assert (await services.db.users.get(user.id)).quota == 1_000_000
    logs = (await services.db.logs.page({"user_id": user.id}, 0, 10))[0]
    assert [entry["trade_no"] for entry in logs] == ["T-HALF"]
    assert (await services.db.top_ups.by_trade_no("T-HALF")).credited


@pytest.mark.gen_test(timeout=60)
async def test_a_credit_retried_with_the_same_reference_is_added_once(gateway):
    user = await gateway.make_user(username="fay", quota=0)
    users = gateway.services.db.users
    results = await asyncio.gather(*[users.credit_once(user.id, 500, "topup:T-1") for _ in range(10)])
    assert sum(results) == 1 and (await users.get(user.id)).quota == 500


@gen_test
async def test_a_flood_of_forged_notices_is_logged_only_up_to_a_budget(gateway, epay):
    await configure(gateway, epay)
    user, cookie = await buyer(gateway)
    placed = await order(gateway, cookie, amount=10)
    forged = epay.notice(placed["params"], key="not-the-merchant-key")

    replies = [await notify(gateway, epay, forged) for _ in range(REFUSALS_LOGGED + 5)]
    status, body, _ = await notify(gateway, epay, epay.notice(placed["params"]))    # the real one, same address

    assert {(s, b) for s, b, _ in replies} == {(200, "fail: bad signature")}
    assert len(await system_logs(gateway)) == REFUSALS_LOGGED
    assert (status, body) == (200, "success") and await gateway.quota_of(user) == 10 * QUOTA_PER_UNIT


def test_the_refusal_budget_starts_again_each_window():
    now = [0.0]
    budget = RefusalBudget(per_window=2, window=60, clock=lambda: now[0])
    assert [budget.take("203.0.113.9") for _ in range(3)] == [True, True, False]
    assert budget.take("198.51.100.1")                 # another address has its own budget
    now[0] = 61
    assert budget.take("203.0.113.9")
