"""What the dashboards need from /api beyond the management routes: the default-password warning,
the price list, and usage days in the browser's time zone."""
import time

import pytest

from models.logs import TYPE_CONSUME
from tests.api_support import ok, refused, session

DAY = 86400
gen_test = pytest.mark.gen_test(timeout=60)


@gen_test
async def test_root_is_flagged_until_its_default_password_changes(gateway):
    cookie = await gateway.root()
    assert ok(await gateway.fetch("/api/user/self", cookie=cookie))["default_password"] is True
    _, plain = await session(gateway, "plain")
    assert ok(await gateway.fetch("/api/user/self", cookie=plain))["default_password"] is False

    # A display-name change or a wrong current password leaves the flag as it is.
    ok(await gateway.fetch("/api/user/self", "PUT", json={"display_name": "Boss"}, cookie=cookie))
    refused(await gateway.fetch("/api/user/self", "PUT", cookie=cookie,
                                json={"password": "new-root-pass", "original_password": "wrong"}), 403)
    assert ok(await gateway.fetch("/api/user/self", cookie=cookie))["default_password"] is True

    response = await gateway.fetch("/api/user/self", "PUT", cookie=cookie,
                                   json={"password": "new-root-pass", "original_password": "123456"})
    assert ok(response)["default_password"] is False
    renewed = response.headers.get("Set-Cookie").split(";", 1)[0]     # the new password ended the old session
    assert ok(await gateway.fetch("/api/user/self", cookie=renewed))["default_password"] is False
    assert not (await gateway.services.db.users.by_username("root")).default_password


@gen_test
async def test_ensure_root_marks_only_the_root_it_creates(gateway):
    root = await gateway.services.db.users.by_username("root")
    assert root.default_password is True
    assert await gateway.services.accounts.ensure_root() is None      # users exist: nothing made or changed


@gen_test
async def test_price_list_shows_ratios_and_fixed_prices_of_usable_models(gateway, upstream):
    options = gateway.services.options
    await options.set("ModelRatio", '{"gpt-4o": 2.5, "gpt-4o-mini": 0.075}')
    await options.set("CompletionRatio", '{"gpt-4o": 4}')
    await options.set("ModelPrice", '{"dall-e-3": 0.04}')
    await options.set("GroupRatio", '{"default": 1, "vip": 0.5}')
    await gateway.make_channel(upstream.url, models="gpt-4o,gpt-4o-mini,dall-e-3,mystery-model")
    await gateway.make_channel(upstream.url, models="vip-only", group="vip")
    _, cookie = await session(gateway, "shopper")

    data = ok(await gateway.fetch("/api/pricing", cookie=cookie))

    assert data["group"] == "default" and data["group_ratio"] == 1 and data["quota_per_unit"] == 500000
    assert data["items"] == [
        {"model_name": "dall-e-3", "model_ratio": None, "completion_ratio": None, "model_price": 0.04},
        {"model_name": "gpt-4o", "model_ratio": 2.5, "completion_ratio": 4, "model_price": None},
        {"model_name": "gpt-4o-mini", "model_ratio": 0.075, "completion_ratio": 1, "model_price": None},
        {"model_name": "mystery-model", "model_ratio": None, "completion_ratio": None, "model_price": None},
    ]
    _, vip = await session(gateway, "vipper", group="vip")
    data = ok(await gateway.fetch("/api/pricing", cookie=vip))
    assert data["group_ratio"] == 0.5 and [m["model_name"] for m in data["items"]] == ["vip-only"]
    refused(await gateway.fetch("/api/pricing"), 401)


@gen_test
async def test_usage_days_follow_the_browsers_time_zone(gateway):
    user, cookie = await session(gateway, "tz")
    now = int(time.time())
    today = now - now % DAY
    # 23:30 UTC yesterday is already today in UTC+1 and still yesterday in UTC.
    await gateway.services.db.logs.insert_many([
        {"type": TYPE_CONSUME, "created_at": today - 1800, "user_id": user.id, "username": user.username,
         "model_name": "gpt-4o", "quota": 40, "prompt_tokens": 1, "completion_tokens": 1}])

    def day(ts):
        return time.strftime("%Y-%m-%d", time.gmtime(ts))

    utc = ok(await gateway.fetch("/api/user/dashboard?days=2", cookie=cookie))
    assert [(r["day"], r["quota"]) for r in utc] == [(day(today - DAY), 40)]
    if now - today < 22 * 3600:     # in UTC+1 "today" is the same date as UTC's until 23:00 UTC
        plus_one = ok(await gateway.fetch("/api/user/dashboard?days=1&utc_offset=60", cookie=cookie))
        assert [(r["day"], r["quota"]) for r in plus_one] == [(day(today), 40)]
    refused(await gateway.fetch("/api/user/dashboard?utc_offset=900", cookie=cookie), 400, "utc_offset")
