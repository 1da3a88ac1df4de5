"""Tracking Midjourney tasks: the poller, the notify hook, time-outs and refunds paid exactly once."""
import asyncio
import time

import pytest

from models.logs import TYPE_REFUND
from services.mj_poller import MjPoller
from tests.mj_support import IMAGINE_COST, mj_channel, mj_user, submitted_task, task_doc, use_notify

START = 1_000_000


async def refunds(gateway, user):
    return [e for e in await gateway.logs(user_id=user.id) if e["type"] == TYPE_REFUND]


@pytest.mark.gen_test
async def test_poll_moves_a_task_through_progress_to_success(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_id = await submitted_task(gateway, key)
    poller = gateway.services.mj_poller

    mj_upstream.advance(mj_id, "IN_PROGRESS", progress="45%")
    await poller.poll_once()
    running = await task_doc(gateway, mj_id)
    mj_upstream.advance(mj_id, "SUCCESS")
    await poller.poll_once()
    done = await task_doc(gateway, mj_id)
    listed_before = len([r for r in mj_upstream.requests if r[1].endswith("list-by-condition")])
    await poller.poll_once()

    assert (running.status, running.progress, running.finished) == ("IN_PROGRESS", "45%", False)
    assert running.image_url.endswith(f"{mj_id}-preview.png") and running.start_time > 0
    assert (done.status, done.progress, done.finished, done.refunded) == ("SUCCESS", "100%", True, False)
    assert done.image_url == f"{mj_upstream.url}/attachments/{mj_id}.png" and done.finish_time > 0
    assert len(done.buttons) == 4
    # a finished task is not asked about again
    assert len([r for r in mj_upstream.requests if r[1].endswith("list-by-condition")]) == listed_before
    assert await gateway.quota_of(user) == START - IMAGINE_COST
    assert await refunds(gateway, user) == []


@pytest.mark.gen_test
async def test_failed_task_is_refunded_once_with_a_refund_log(gateway, mj_upstream):
    user, key = await mj_user(gateway, quota=START)
    token = await gateway.services.tokens.create(user.id, {"name": "limited", "remain_quota": 400_000})
    limited_key = token[1]
    channel = await mj_channel(gateway, mj_upstream)
    await use_notify(gateway)
    mj_id = await submitted_task(gateway, limited_key)
    other = await submitted_task(gateway, key)

    mj_upstream.advance(mj_id, "FAILURE", fail_reason="Banned prompt detected")
    await gateway.services.mj_poller.poll_once()
    await gateway.services.mj_poller.poll_once()
    notified = await mj_upstream.notify(mj_id)     # the upstream reports the same failure again

    task = await task_doc(gateway, mj_id)
    assert notified == 200
    assert (task.status, task.fail_reason, task.refunded, task.finished) == (
        "FAILURE", "Banned prompt detected", True, True)
    assert await gateway.quota_of(user) == START - IMAGINE_COST     # only the other task is paid for
    assert await gateway.services.db.tokens.quota_of(token[0].id) == 400_000
    [entry] = await refunds(gateway, user)
    assert (entry["quota"], entry["mj_id"], entry["model_name"], entry["channel_id"]) == (
        IMAGINE_COST, mj_id, "mj_imagine", channel.id)
    assert (await gateway.services.db.users.get(user.id)).used_quota == IMAGINE_COST
    assert (await gateway.services.db.channels.get(channel.id)).used_quota == IMAGINE_COST
    assert (await task_doc(gateway, other)).status == "SUBMITTED"


@pytest.mark.gen_test
async def test_notify_updates_at_once_and_a_later_poll_does_not_refund_again(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    await use_notify(gateway)
    mj_id = await submitted_task(gateway, key)

    mj_upstream.advance(mj_id, "IN_PROGRESS", progress="10%")
    assert await mj_upstream.notify(mj_id) == 200
    running = await task_doc(gateway, mj_id)
    mj_upstream.advance(mj_id, "FAILURE")
    assert await mj_upstream.notify(mj_id) == 200
    await gateway.services.mj_poller.poll_once()

    assert (running.status, running.progress) == ("IN_PROGRESS", "10%")
    assert (await task_doc(gateway, mj_id)).status == "FAILURE"
    assert len(await refunds(gateway, user)) == 1
    assert await gateway.quota_of(user) == START


@pytest.mark.gen_test
async def test_poll_and_notify_racing_on_one_failure_refund_once(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    await use_notify(gateway)
    ids = [await submitted_task(gateway, key) for _ in range(3)]
    for mj_id in ids:
        mj_upstream.advance(mj_id, "FAILURE")

    await asyncio.gather(gateway.services.mj_poller.poll_once(), gateway.services.mj_poller.poll_once(),
                         *[mj_upstream.notify(i) for i in ids], *[mj_upstream.notify(i) for i in ids])

    assert await gateway.quota_of(user) == START
    assert sorted(e["mj_id"] for e in await refunds(gateway, user)) == sorted(ids)


@pytest.mark.gen_test
async def test_notify_needs_the_hooks_signature(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    channel = await mj_channel(gateway, mj_upstream)
    await use_notify(gateway)
    mj_id = await submitted_task(gateway, key)
    report = {**mj_upstream.tasks[mj_id], "status": "FAILURE", "failReason": "forged"}

    forged = await gateway.fetch(f"/mj/notify?channel={channel.id}&token=0000", "POST", json=report)
    other_channel = await gateway.fetch(
        f"/mj/notify?channel={channel.id + 1}&token={gateway.services.midjourney.notify_token(channel.id)}",
        "POST", json=report)
    with_user_key = await gateway.fetch("/mj/notify", "POST", json=report, key=key)

    assert forged.status == 401 and forged.json["error"]["code"] == "invalid_notify_token"
    assert other_channel.status == 401 and with_user_key.status == 401
    assert (await task_doc(gateway, mj_id)).status == "SUBMITTED"


@pytest.mark.gen_test
async def test_out_of_order_report_does_not_move_a_task_back(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    await use_notify(gateway)
    mj_id = await submitted_task(gateway, key)
    mj_upstream.advance(mj_id, "IN_PROGRESS", progress="30%")
    older = dict(mj_upstream.tasks[mj_id])
    mj_upstream.advance(mj_id, "IN_PROGRESS", progress="80%")
    assert await mj_upstream.notify(mj_id) == 200
    mj_upstream.tasks[mj_id] = dict(older)
    assert await mj_upstream.notify(mj_id) == 200
    running = await task_doc(gateway, mj_id)
    mj_upstream.advance(mj_id, "SUCCESS")
    assert await mj_upstream.notify(mj_id) == 200
    mj_upstream.tasks[mj_id] = dict(older)
    assert await mj_upstream.notify(mj_id) == 200

    assert (running.status, running.progress) == ("IN_PROGRESS", "80%")
    task = await task_doc(gateway, mj_id)
    assert (task.status, task.progress) == ("SUCCESS", "100%")


@pytest.mark.gen_test
async def test_tasks_older_than_the_timeout_fail_and_are_refunded(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    await gateway.services.options.set("MjTaskTimeout", "600")
    stuck = await submitted_task(gateway, key)
    mj_upstream.list_fails = True      # the upstream cannot even be asked

    early = await gateway.services.mj_poller.poll_once(now=time.time() + 300)
    still = await task_doc(gateway, stuck)
    late = await gateway.services.mj_poller.poll_once(now=time.time() + 601)

    assert early["timed_out"] == 0 and still.status == "SUBMITTED"
    assert late["timed_out"] == 1
    task = await task_doc(gateway, stuck)
    assert (task.status, task.refunded) == ("FAILURE", True) and "600" in task.fail_reason
    assert await gateway.quota_of(user) == START
    assert len(await refunds(gateway, user)) == 1


@pytest.mark.gen_test
async def test_poller_asks_each_channel_in_batches(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    ids = [await submitted_task(gateway, key) for _ in range(5)]
    for mj_id in ids:
        mj_upstream.advance(mj_id, "SUCCESS")
    poller = MjPoller(gateway.services.midjourney, gateway.services.options, batch_size=2)

    result = await poller.poll_once()

    asked = [r[3]["ids"] for r in mj_upstream.requests if r[1] == "/mj/task/list-by-condition"]
    assert result["checked"] == 5
    assert [len(batch) for batch in asked] == [2, 2, 1] and sorted(sum(asked, [])) == sorted(ids)
    assert all(r[2]["Mj-Api-Secret"] == mj_upstream.secret for r in mj_upstream.requests)
    assert {(await task_doc(gateway, i)).status for i in ids} == {"SUCCESS"}


@pytest.mark.gen_test
async def test_tasks_of_a_deleted_channel_fail_and_are_refunded(gateway, mj_upstream):
    user, key = await mj_user(gateway)
    channel = await mj_channel(gateway, mj_upstream)
    mj_id = await submitted_task(gateway, key)
    await gateway.services.channels.delete(channel.id)

    await gateway.services.mj_poller.poll_once()

    assert (await task_doc(gateway, mj_id)).status == "FAILURE"
    assert await gateway.quota_of(user) == START


@pytest.mark.gen_test
async def test_periodic_polling_starts_and_stops(gateway, mj_upstream):
    poller = gateway.services.mj_poller
    poller.start(15)
    assert poller._timer.is_running()
    poller.stop()
    assert poller._timer is None


@pytest.mark.gen_test
async def test_a_refund_cut_short_is_paid_later_and_only_once(gateway, mj_upstream):
    user, _ = await mj_user(gateway, quota=START)
    token, limited_key = await gateway.services.tokens.create(user.id, {"name": "limited", "remain_quota": 400_000})
    channel = await mj_channel(gateway, mj_upstream)
    task = await task_doc(gateway, await submitted_task(gateway, limited_key))
    db, poller, now = gateway.services.db, gateway.services.mj_poller, time.time()
    # The process claimed the refund and stopped before paying any of it.
    assert await db.mj_tasks.claim_refund(task.id, int(now))

    soon = await poller.poll_once(now=now + 5)             # its payer may still be at work
    assert soon["refunds_finished"] == 0 and await gateway.quota_of(user) == START - IMAGINE_COST
    later = await poller.poll_once(now=now + 120)
    await gateway.services.midjourney.pay_refund(task)     # a second payer repeats every step
    again = await poller.poll_once(now=now + 240)
    await gateway.settled()

    assert (later["refunds_finished"], again["refunds_finished"]) == (1, 0)
    assert await gateway.quota_of(user) == START
    assert await db.tokens.quota_of(token.id) == 400_000
    assert (await db.users.get(user.id)).used_quota == 0
    assert (await db.tokens.get(token.id)).used_quota == 0
    assert (await db.channels.get(channel.id)).used_quota == 0
    [entry] = await refunds(gateway, user)
    assert (entry["quota"], entry["mj_id"]) == (IMAGINE_COST, task.mj_id)
    assert not (await task_doc(gateway, task.mj_id)).refund_pending
