"""The admin overview: traffic totals, per-day quota, top models and users, channel health."""
import time

import pytest

from models.logs import TYPE_CONSUME, TYPE_TOPUP

DAY = 86400


def entry(created_at, quota, model, user, prompt=10, completion=5, log_type=TYPE_CONSUME):
    return {"type": log_type, "created_at": created_at, "quota": quota, "model_name": model, "username": user,
            "user_id": 1, "prompt_tokens": prompt, "completion_tokens": completion}


@pytest.mark.gen_test
async def test_overview_counts_today_the_week_and_the_leaders(gateway, upstream):
    now = int(time.time())
    today = now - now % DAY
    await gateway.services.db.logs.insert_many([
        entry(today + 1, 100, "gpt-4o", "ann"),
        entry(today + 2, 50, "gpt-4o-mini", "bob"),
        entry(today - 2 * DAY + 5, 400, "gpt-4o", "bob"),
        entry(today - 10 * DAY, 9999, "gpt-4", "old"),                 # outside the week
        entry(today + 3, 7777, "", "ann", log_type=TYPE_TOPUP),        # not consumption
    ])
    channel = await gateway.make_channel(upstream.url)
    await gateway.services.channels.disable_automatically(channel.id, "status 401: bad key")
    await gateway.make_channel(upstream.url, name="second")

    response = await gateway.fetch("/api/dashboard/overview", cookie=await gateway.root())

    data = response.json["data"]
    assert data["today"] == {"requests": 2, "quota": 150, "tokens": 30}
    assert data["week"] == {"requests": 3, "quota": 550, "tokens": 45}
    assert [d["quota"] for d in data["days"]] == [0, 0, 0, 0, 400, 0, 150]
    assert data["top_models"][0] == {"model_name": "gpt-4o", "quota": 500, "requests": 2}
    assert [u["username"] for u in data["top_users"]] == ["bob", "ann"]
    assert data["channels"]["total"] == 2 and data["channels"]["enabled"] == 1
    assert data["channels"]["unhealthy"][0]["status_reason"] == "status 401: bad key"


@pytest.mark.gen_test
async def test_overview_is_for_administrators_only(gateway):
    await gateway.make_user(username="plain")
    cookie = await gateway.login("plain", "password1")
    assert (await gateway.fetch("/api/dashboard/overview", cookie=cookie)).status == 403
    assert (await gateway.fetch("/api/dashboard/overview")).status == 401


@pytest.mark.gen_test
async def test_overview_days_follow_the_operators_time_zone(gateway):
    east = 10 * 60                                 # minutes east of UTC
    local_now = int(time.time()) + east * 60
    midnight = local_now - local_now % DAY - east * 60    # today's local 00:00, in unix seconds
    await gateway.services.db.logs.insert_many([
        entry(midnight + 1, 100, "gpt-4o", "ann"),       # today, there
        entry(midnight - 1, 40, "gpt-4o", "ann"),        # yesterday, there
    ])
    root = await gateway.root()

    local = (await gateway.fetch(f"/api/dashboard/overview?utc_offset={east}", cookie=root)).json["data"]

    assert local["today"]["quota"] == 100
    assert [d["quota"] for d in local["days"][-2:]] == [40, 100]
    assert local["days"][-1]["day"] == time.strftime("%Y-%m-%d", time.gmtime(local_now))
    refused = await gateway.fetch("/api/dashboard/overview?utc_offset=9000", cookie=root)
    assert refused.status == 400 and "utc_offset" in refused.json["message"]
