"""Online top-up: options, quotes, orders (and every refusal), history, completing by hand, return page."""
import asyncio
import time

import pytest

from services.options import OptionError
from tests.topup_setup import configure, epay, order, wxpusher  # noqa: F401  (fixtures)
from tests.upstreams.epay_mock import epay_sign

# Logins hash passwords (argon2), which is slow on a busy machine: more than the default 5 s.
gen_test = pytest.mark.gen_test(timeout=60)


async def top_ups(gateway):
    return await gateway.services.db.top_ups.collection.count_documents({})


async def login_user(gateway, username="alice", **fields):
    user = await gateway.make_user(username, **fields)
    return user, await gateway.login(username, "password1")


@gen_test
async def test_options_are_validated_and_secrets_never_listed(gateway):
    options = gateway.services.options
    for name, bad in [("PayAddress", "ftp://pay.example.com"), ("PayAddress", "pay.example.com"),
                      ("Price", "0"), ("Price", "abc"), ("MinTopUp", "0"), ("PayMethods", "[]"),
                      ("PayMethods", '["alipay", "alipay"]'), ("PayMethods", '["Ali Pay"]'),
                      ("TopupGroupRatio", '{"vip": -1}'), ("WxPusherUids", "bob"),
                      ("WxPusherTopicIds", "12,x"), ("CustomCallbackAddress", "https://a.b/?x=1"),
                      ("EpayId", "10 01"), ("WxPusherNotificationsEnabled", "maybe")]:
        with pytest.raises(OptionError):
            await options.set(name, bad)
    assert str(options["Price"]) == "7.3" and options["PayAddress"] == ""   # bad values kept nothing

    await options.set("PayAddress", "https://pay.example.com/")
    await options.set("WxPusherUids", "UID_a, UID_b\nUID_c")
    await options.set("WxPusherTopicIds", "12,34")
    await options.set("EpayKey", "the-merchant-key")
    await options.set("WxPusherAppToken", "AT_secret")
    assert options["PayAddress"] == "https://pay.example.com"
    assert options["WxPusherUids"] == ["UID_a", "UID_b", "UID_c"] and options["WxPusherTopicIds"] == [12, 34]
    listed = options.listed_items()
    assert "EpayKey" not in listed and "WxPusherAppToken" not in listed
    assert listed["PayAddress"] == "https://pay.example.com/" and "Price" in listed
    assert "the-merchant-key" not in str(listed) and "AT_secret" not in str(listed)


@gen_test
async def test_quote_uses_price_and_top_up_group_ratio(gateway, epay):
    await configure(gateway, epay, TopupGroupRatio='{"default": 1, "vip": 0.8}', Price="7.3")
    _, plain = await login_user(gateway, "alice")
    _, vip = await login_user(gateway, "vera", group="vip")

    answer = await gateway.fetch("/api/user/amount", "POST", json={"amount": 10}, cookie=plain)
    assert answer.status == 200 and answer.json["data"] == "73.00"
    answer = await gateway.fetch("/api/user/amount", "POST", json={"amount": 10}, cookie=vip)
    assert answer.json["data"] == "58.40"
    offer = (await gateway.fetch("/api/user/pay", cookie=vip)).json["data"]
    assert offer == {"enabled": True, "pay_methods": ["alipay", "wxpay", "qqpay"], "min_topup": 1,
                     "price": "5.84"}
    answer = await gateway.fetch("/api/user/amount", "POST", json={"amount": 0}, cookie=plain)
    assert answer.status == 400 and "smallest" in answer.json["message"]
    assert (await gateway.fetch("/api/user/amount", "POST", json={"amount": 10})).status == 401


@gen_test
async def test_pay_returns_a_signed_form_for_the_gateway(gateway, epay):
    await configure(gateway, epay)
    user, cookie = await login_user(gateway)

    data = await order(gateway, cookie, amount=10, method="zfb")

    params, trade_no = data["params"], data["trade_no"]
    assert data["url"] == epay.url + "/submit.php" and data["money"] == "73.00"
    assert trade_no.startswith(f"USR{user.id}NO") and params["out_trade_no"] == trade_no
    assert params["type"] == "alipay" and params["money"] == "73.00" and params["pid"] == epay.pid
    assert params["notify_url"] == gateway.url + "/api/user/epay/notify"
    assert params["return_url"] == f"{gateway.url}/topup/{trade_no}"
    assert params["sign_type"] == "MD5" and params["sign"] == epay_sign(params, epay.key)
    stored = await gateway.services.db.top_ups.by_trade_no(trade_no)
    assert (stored.user_id, stored.amount, stored.money, stored.status, stored.payment_method) == (
        user.id, 10, "73.00", "pending", "alipay")
    assert stored.quota == 10 * 500000 and stored.create_time > 0 and stored.complete_time == 0
    assert epay.key not in str(data)


@gen_test
async def test_custom_callback_address_is_used_for_notices(gateway, epay):
    await configure(gateway, epay, CustomCallbackAddress="https://callback.example.com")
    _, cookie = await login_user(gateway)
    params = (await order(gateway, cookie))["params"]
    assert params["notify_url"] == "https://callback.example.com/api/user/epay/notify"
    assert params["return_url"].startswith(gateway.url + "/topup/")


@gen_test
async def test_refused_orders_write_nothing(gateway, epay):
    _, cookie = await login_user(gateway)

    async def refused(body, text):
        answer = await gateway.fetch("/api/user/pay", "POST", json=body, cookie=cookie)
        assert answer.status == 400 and text in answer.json["message"], answer.body
        assert answer.json["success"] is False

    await refused({"amount": 10, "payment_method": "alipay"}, "not set up")      # nothing configured yet
    assert (await gateway.fetch("/api/user/pay", cookie=cookie)).json["data"]["enabled"] is False
    await configure(gateway, epay, ServerAddress="")
    await refused({"amount": 10, "payment_method": "alipay"}, "callback")        # nowhere to call back
    await configure(gateway, epay, MinTopUp="5", PayMethods='["alipay", "wxpay"]')
    await refused({"amount": 4, "payment_method": "alipay"}, "smallest top-up is 5")
    await refused({"amount": 10, "payment_method": "qqpay"}, "alipay, wxpay")
    await refused({"amount": 10, "payment_method": "bitcoin"}, "payment_method")
    await refused({"amount": 10.5, "payment_method": "alipay"}, "whole number")
    await refused({"amount": "ten", "payment_method": "alipay"}, "whole number")
    await refused({"amount": True, "payment_method": "alipay"}, "whole number")
    await refused({"payment_method": "alipay"}, "whole number")
    assert await top_ups(gateway) == 0


@gen_test
async def test_history_for_users_and_administrators(gateway, epay):
    await configure(gateway, epay)
    alice, alice_cookie = await login_user(gateway, "alice")
    bob, bob_cookie = await login_user(gateway, "bob")
    alice_orders = [await order(gateway, alice_cookie, amount=n) for n in (1, 2, 3)]
    bob_order = await order(gateway, bob_cookie, amount=7, method="wxpay")
    root = await gateway.root()

    own = (await gateway.fetch("/api/user/topup/self?p=1&page_size=2", cookie=alice_cookie)).json["data"]
    assert own["total"] == 3 and len(own["items"]) == 2
    assert {o["user_id"] for o in own["items"]} == {alice.id}
    page2 = (await gateway.fetch("/api/user/topup/self?p=2&page_size=2", cookie=alice_cookie)).json["data"]
    assert len(page2["items"]) == 1
    shown = {o["trade_no"] for o in own["items"] + page2["items"]}
    assert shown == {o["trade_no"] for o in alice_orders}

    one = await gateway.fetch(f"/api/user/topup/{bob_order['trade_no']}", cookie=bob_cookie)
    assert one.json["data"]["status"] == "pending" and one.json["data"]["money"] == "51.10"
    assert (await gateway.fetch(f"/api/user/topup/{bob_order['trade_no']}", cookie=alice_cookie)).status == 404
    assert (await gateway.fetch(f"/api/user/topup/{bob_order['trade_no']}", cookie=root)).status == 200
    assert (await gateway.fetch("/api/user/topup", cookie=alice_cookie)).status == 403

    everything = (await gateway.fetch("/api/user/topup", cookie=root)).json["data"]
    assert everything["total"] == 4
    bobs = (await gateway.fetch(f"/api/user/topup?user_id={bob.id}", cookie=root)).json["data"]
    assert [o["trade_no"] for o in bobs["items"]] == [bob_order["trade_no"]]
    later = int(time.time()) + 3600
    assert (await gateway.fetch(f"/api/user/topup?start_timestamp={later}", cookie=root)).json["data"]["total"] == 0
    await gateway.fetch("/api/user/topup/complete", "POST", json={"trade_no": bob_order["trade_no"]}, cookie=root)
    done = (await gateway.fetch("/api/user/topup?status=success", cookie=root)).json["data"]
    assert [o["trade_no"] for o in done["items"]] == [bob_order["trade_no"]]
    pending = (await gateway.fetch("/api/user/topup?status=pending", cookie=root)).json["data"]
    assert pending["total"] == 3


@gen_test
async def test_admin_completes_a_pending_order_exactly_once(gateway, epay, wxpusher):
    await configure(gateway, epay, wxpusher)
    user, cookie = await login_user(gateway, quota=0)
    trade_no = (await order(gateway, cookie, amount=3))["trade_no"]
    root = await gateway.root()
    assert (await gateway.fetch("/api/user/topup/complete", "POST", json={"trade_no": trade_no},
                                cookie=cookie)).status == 403

    answers = await asyncio.gather(*[
        gateway.fetch("/api/user/topup/complete", "POST", json={"trade_no": trade_no}, cookie=root)
        for _ in range(10)])

    assert sorted(a.status for a in answers) == [200] + [409] * 9
    assert await gateway.quota_of(user) == 3 * 500000
    stored = await gateway.services.db.top_ups.by_trade_no(trade_no)
    assert stored.status == "success" and stored.completed_by.startswith("admin:") and stored.complete_time
    [entry] = await gateway.logs(user_id=user.id, type=3)
    assert entry["quota"] == 3 * 500000 and trade_no in entry["content"] and "root" in entry["content"]
    assert await gateway.logs(user_id=user.id, type=1) == []
    await gateway.services.notices.idle()
    assert len(wxpusher.messages) == 1 and trade_no in wxpusher.messages[0]["content"]
    missing = await gateway.fetch("/api/user/topup/complete", "POST", json={"trade_no": "USR1NOnope"}, cookie=root)
    assert missing.status == 404
    assert (await gateway.fetch("/api/user/topup/complete", "POST", json={}, cookie=root)).status == 400


@gen_test
async def test_return_page_sends_the_browser_to_the_order_state(gateway):
    answer = await gateway.http.fetch(
        gateway.url + "/topup/USR1NOab12cd1700000000?pid=1001&trade_no=2024&out_trade_no=USR1NOab12cd1700000000",
        follow_redirects=False, raise_error=False)
    assert answer.code == 302 and answer.headers["Location"] == "/#/topup?trade_no=USR1NOab12cd1700000000"
    answer = await gateway.http.fetch(gateway.url + "/topup?out_trade_no=<script>", follow_redirects=False,
                                      raise_error=False)
    assert answer.code == 302 and answer.headers["Location"] == "/#/topup"
