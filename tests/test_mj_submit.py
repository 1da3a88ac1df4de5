"""Midjourney submits relayed to a real local midjourney-proxy: routes, keys, channels and billing."""
import pytest

from models.logs import TYPE_CONSUME
from tests.mj_support import (IMAGINE_COST, UPSCALE_COST, imagine, mj_channel, mj_user, submitted_task,
                              task_doc, use_notify)


@pytest.mark.gen_test
async def test_imagine_is_relayed_stored_and_charged_once_accepted(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    channel = await mj_channel(gateway, mj_upstream)
    await use_notify(gateway)

    response = await imagine(gateway, key, state="my-state", notifyHook="http://client.example/hook")

    assert response.status == 200
    assert response.json["code"] == 1
    mj_id = response.json["result"]
    assert mj_id in mj_upstream.tasks
    _, path, headers, body = mj_upstream.submits[0]
    assert path == "/mj/submit/imagine" and headers["Mj-Api-Secret"] == mj_upstream.secret
    assert body["prompt"] == "a red fox in snow"
    # the upstream reports to the gateway, never to an address the client chose
    assert body["notifyHook"].startswith(f"{gateway.url}/mj/notify?channel={channel.id}&token=")
    assert await gateway.quota_of(user) == 1_000_000 - IMAGINE_COST
    task = await task_doc(gateway, mj_id)
    assert (task.user_id, task.channel_id, task.action, task.prompt, task.status, task.quota, task.state) == (
        user.id, channel.id, "IMAGINE", "a red fox in snow", "SUBMITTED", IMAGINE_COST, "my-state")
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["type"], entry["model_name"], entry["quota"], entry["channel_id"]) == (
        TYPE_CONSUME, "mj_imagine", IMAGINE_COST, channel.id)
    assert entry["other"] == {"model_price": 0.1, "group_ratio": 1}
    refreshed = await gateway.services.db.users.get(user.id)
    assert refreshed.used_quota == IMAGINE_COST


@pytest.mark.gen_test
async def test_refused_submit_is_passed_on_and_costs_nothing(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_upstream.refuse = (24, "可能包含敏感词", None)

    response = await imagine(gateway, key, prompt="forbidden")

    assert response.status == 200
    assert response.json["code"] == 24 and response.json["description"] == "可能包含敏感词"
    assert await gateway.quota_of(user) == 1_000_000
    assert await gateway.logs(user_id=user.id) == []
    assert await gateway.services.db.mj_tasks.unfinished() == []


@pytest.mark.gen_test
async def test_upstream_rejecting_the_channel_secret_refunds_and_answers_502(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await gateway.make_channel(mj_upstream.url, key="wrong-secret", models="mj_imagine", type=2)

    response = await imagine(gateway, key)

    assert response.status == 502
    assert response.json["error"]["type"] == "upstream_error"
    assert await gateway.quota_of(user) == 1_000_000


@pytest.mark.gen_test
async def test_queued_submit_is_accepted_as_code_1_and_charged(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_upstream.queue = True

    response = await imagine(gateway, key)

    assert response.json["code"] == 1 and response.json["result"] in mj_upstream.tasks
    assert await gateway.quota_of(user) == 1_000_000 - IMAGINE_COST


@pytest.mark.gen_test
async def test_price_is_the_action_price_times_the_group_ratio(gateway, mj_upstream):
    await gateway.services.options.set("GroupRatio", {"default": 1, "vip": 2.5})
    await gateway.services.options.set("ModelPrice", {"mj_imagine": 0.2})
    user, key = await mj_user(gateway, group="vip")
    await mj_channel(gateway, mj_upstream, groups="vip")

    await submitted_task(gateway, key)

    assert await gateway.quota_of(user) == 1_000_000 - int(0.2 * 2.5 * 500_000)


@pytest.mark.gen_test
async def test_key_in_mj_api_secret_header_is_accepted(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    body = {"prompt": "a cat"}

    plain = await gateway.fetch("/mj/submit/imagine", "POST", json=body, headers={"mj-api-secret": key})
    proxy_style = await gateway.fetch("/mj/submit/imagine", "POST", json=body,
                                      headers={"Authorization": "midjourney-proxy", "mj-api-secret": key})
    missing = await gateway.fetch("/mj/submit/imagine", "POST", json=body)
    wrong = await gateway.fetch("/mj/submit/imagine", "POST", json=body, headers={"mj-api-secret": "sk-nope"})

    assert plain.json["code"] == 1 and proxy_style.json["code"] == 1
    assert missing.status == 401 and missing.json["error"]["code"] == "missing_api_key"
    assert wrong.status == 401 and wrong.json["error"]["code"] == "invalid_api_key"
    assert await gateway.quota_of(user) == 1_000_000 - 2 * IMAGINE_COST


@pytest.mark.gen_test
async def test_requests_the_gateway_refuses_never_reach_the_upstream(gateway, mj_upstream):
    poor, poor_key = await mj_user(gateway, "poor", quota=IMAGINE_COST - 1)
    _, key = await mj_user(gateway)
    limited = await gateway.make_token(poor, name="limited", models=["mj_describe"])
    await mj_channel(gateway, mj_upstream)

    no_prompt = await gateway.fetch("/mj/submit/imagine", "POST", json={"prompt": " "}, key=key)
    not_json = await gateway.fetch("/mj/submit/imagine", "POST", body=b"[1]", key=key)
    bad_change = await gateway.fetch("/mj/submit/change", "POST", json={"taskId": "1", "action": "UPSCALE"},
                                     key=key)
    bad_blend = await gateway.fetch("/mj/submit/blend", "POST", json={"base64Array": ["x"]}, key=key)
    too_poor = await imagine(gateway, poor_key)
    not_allowed = await imagine(gateway, limited)
    unknown_route = await gateway.fetch("/mj/submit/paint", "POST", json={}, key=key)

    assert no_prompt.status == 400 and no_prompt.json["error"]["code"] == "prompt_is_required"
    assert not_json.status == 400 and not_json.json["error"]["code"] == "invalid_json"
    assert bad_change.status == 400 and bad_change.json["error"]["code"] == "index_is_required"
    assert bad_blend.status == 400
    assert too_poor.status == 403 and too_poor.json["error"]["type"] == "insufficient_quota"
    assert not_allowed.status == 403 and not_allowed.json["error"]["code"] == "model_not_allowed"
    assert unknown_route.status == 404 and unknown_route.json["error"]["code"] == "route_not_found"
    assert mj_upstream.submits == []
    assert await gateway.quota_of(poor) == IMAGINE_COST - 1


@pytest.mark.gen_test
async def test_no_channel_for_the_action_is_503(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await gateway.make_channel(mj_upstream.url, key=mj_upstream.secret, models="mj_upscale", type=2)

    response = await imagine(gateway, key)

    assert response.status == 503 and response.json["error"]["code"] == "no_available_channel"


@pytest.mark.gen_test
async def test_an_admin_key_pinned_to_a_channel_is_answered_as_on_v1(gateway, mj_upstream):
    admin, key = await mj_user(gateway, "boss", role=100)
    channel = await mj_channel(gateway, mj_upstream)
    off = await mj_channel(gateway, mj_upstream, name="off", status=2)

    missing = await imagine(gateway, f"{key}-999")
    disabled = await imagine(gateway, f"{key}-{off.id}")
    assert mj_upstream.submits == []
    pinned = await imagine(gateway, f"{key}-{channel.id}")

    assert (missing.status, missing.json["error"]["code"]) == (404, "channel_not_found")
    assert (disabled.status, disabled.json["error"]["code"]) == (503, "channel_disabled")
    assert pinned.status == 200 and pinned.json["code"] == 1
    assert (await task_doc(gateway, pinned.json["result"])).channel_id == channel.id
    assert await gateway.quota_of(admin) == 1_000_000 - IMAGINE_COST


@pytest.mark.gen_test
async def test_each_submit_route_is_relayed_priced_by_its_action(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream, channel_type=5)
    parent = await submitted_task(gateway, key)
    mj_upstream.advance(parent, "SUCCESS")
    await gateway.services.mj_poller.poll_once()
    image = "data:image/png;base64,iVBORw0KGgo="
    calls = [
        ("change", {"taskId": parent, "action": "UPSCALE", "index": 2}, "UPSCALE", 0.05),
        ("simple-change", {"content": f"{parent} V1"}, "VARIATION", 0.1),
        ("action", {"taskId": parent, "customId": "MJ::JOB::upsample::1::abc"}, "UPSCALE", 0.05),
        ("modal", {"taskId": parent, "prompt": "more foxes"}, "MODAL", 0.1),
        ("blend", {"base64Array": [image, image], "dimensions": "SQUARE"}, "BLEND", 0.1),
        ("describe", {"base64": image}, "DESCRIBE", 0.05),
        ("shorten", {"prompt": "a very long prompt about foxes"}, "SHORTEN", 0.1),
    ]
    balance = await gateway.quota_of(user)
    for kind, body, action, price in calls:
        response = await gateway.fetch(f"/mj/submit/{kind}", "POST", json=body, key=key)
        assert response.status == 200 and response.json["code"] == 1, (kind, response.body)
        task = await task_doc(gateway, response.json["result"])
        assert task.action == action, kind
        balance -= int(price * 500_000)
        assert await gateway.quota_of(user) == balance, kind
        assert mj_upstream.submits[-1][1] == f"/mj/submit/{kind}"
        if kind == "change":   # follow-ups without a prompt carry their parent's
            assert task.prompt == "a red fox in snow"


@pytest.mark.gen_test
async def test_follow_ups_need_an_own_finished_parent_and_use_its_channel(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    _, other_key = await mj_user(gateway, "bob")
    first = await mj_channel(gateway, mj_upstream, name="first")
    parent = await submitted_task(gateway, key)
    await mj_channel(gateway, mj_upstream, name="second", priority=10)   # preferred for new tasks

    early = await gateway.fetch("/mj/submit/change", "POST", key=key,
                                json={"taskId": parent, "action": "UPSCALE", "index": 1})
    mj_upstream.advance(parent, "SUCCESS")
    await gateway.services.mj_poller.poll_once()
    foreign = await gateway.fetch("/mj/submit/simple-change", "POST", key=other_key,
                                  json={"content": f"{parent} U1"})
    upscale = await gateway.fetch("/mj/submit/simple-change", "POST", key=key, json={"content": f"{parent} U1"})

    assert early.status == 400 and early.json["error"]["code"] == "task_status_not_success"
    assert foreign.status == 404 and foreign.json["error"]["code"] == "task_not_found"
    assert upscale.json["code"] == 1
    assert (await task_doc(gateway, upscale.json["result"])).channel_id == first.id


@pytest.mark.gen_test
async def test_mode_prefix_is_passed_to_the_upstream(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)

    fast = await imagine(gateway, key, path="/fast/mj/submit/imagine")
    relax = await imagine(gateway, key, path="/mj-relax/mj/submit/imagine")
    fetched = await gateway.fetch(f"/turbo/mj/task/{fast.json['result']}/fetch", key=key)

    assert [r[1] for r in mj_upstream.submits] == ["/mj-fast/mj/submit/imagine", "/mj-relax/mj/submit/imagine"]
    assert (await task_doc(gateway, fast.json["result"])).mode == "fast"
    assert (await task_doc(gateway, relax.json["result"])).mode == "relax"
    assert fetched.status == 200 and fetched.json["id"] == fast.json["result"]


@pytest.mark.gen_test
async def test_upscale_price_defaults_from_the_price_table(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    parent = await submitted_task(gateway, key)
    mj_upstream.advance(parent, "SUCCESS")
    await gateway.services.mj_poller.poll_once()
    before = await gateway.quota_of(user)

    await gateway.fetch("/mj/submit/change", "POST", key=key, json={"taskId": parent, "action": "UPSCALE",
                                                                     "index": 1})

    assert before - await gateway.quota_of(user) == UPSCALE_COST


@pytest.mark.gen_test
async def test_no_account_instance_disables_the_channel_when_enabled(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    channel = await mj_channel(gateway, mj_upstream)
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    mj_upstream.refuse = (3, "无可用的账号实例", None)

    response = await imagine(gateway, key)
    again = await imagine(gateway, key)

    assert response.status == 200 and response.json["code"] == 3
    assert (await gateway.services.db.channels.get(channel.id)).status == 3
    assert again.status == 503
    assert await gateway.quota_of(user) == 1_000_000
