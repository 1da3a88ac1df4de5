"""Batched counters and logs, quota reserves as the API shows them, and recovery of a dead process's
reserves by the job that the lease holder runs."""
import asyncio

import pytest

from services.quota_book import BLOCK_FACTOR, QuotaBook
from services.runtime import NODE_GONE_AFTER, recover_reserves

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.mark.gen_test
async def test_balances_shown_by_the_api_include_reserves(gateway):
    user = await gateway.make_user(username="dora", quota=100_000)
    assert await gateway.services.book.take("user", user.id, 100)   # this process now holds a reserve
    await gateway.services.book.sync()                                # and has recorded the 100 spent
    cookie = await gateway.login("dora", "password1")
    response = await gateway.fetch("/api/user/self", cookie=cookie)
    assert response.json["data"]["quota"] == 100_000 - 100


@pytest.mark.gen_test
async def test_logs_and_counters_wait_for_the_batch_and_then_are_exact(gateway, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
    await gateway.services.inflight.idle()
    assert gateway.services.batch.pending_logs == 1          # held for the next batch write

    await gateway.services.batch.flush()
    [entry] = (await gateway.services.db.logs.page({"user_id": user.id}, 0, 10))[0]
    stored = await gateway.services.db.users.get(user.id)
    assert (stored.used_quota, stored.request_count) == (entry["quota"], 1)


class TestWithoutBatching:
    @pytest.fixture
    def settings_overrides(self):
        return {"batch_update_enabled": False}

    @pytest.mark.gen_test
    async def test_each_log_entry_is_written_as_its_request_settles(self, gateway, upstream):
        user = await gateway.make_user()
        key = await gateway.make_token(user)
        await gateway.make_channel(upstream.url)
        assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
        await gateway.services.inflight.idle()
        assert gateway.services.batch.pending_logs == 0
        assert (await gateway.services.db.logs.page({"user_id": user.id}, 0, 10))[1] == 1


@pytest.mark.gen_test
async def test_the_reserve_of_a_process_that_died_goes_back_to_the_balance(gateway):
    db = gateway.services.db
    user = await gateway.make_user(quota=100_000)
    dead = QuotaBook(db.reserves, "node-dead")
    await dead.take("user", user.id, 10)
    await dead.sync()
    await db.nodes.seen("node-dead", 1000.0)          # its last heartbeat

    await recover_reserves(db, now=1000.0 + NODE_GONE_AFTER - 1)    # not yet counted as dead
    assert (await db.users.get(user.id)).quota == 100_000 - 10 * BLOCK_FACTOR
    await recover_reserves(db, now=1000.0 + NODE_GONE_AFTER + 1)
    stored = await db.users.get(user.id)
    assert (stored.quota, stored.reserved) == (100_000 - 10, {})


@pytest.mark.gen_test
async def test_a_batch_of_logs_tried_again_is_not_written_twice(gateway):
    logs = gateway.services.db.logs
    entries = [{"type": 2, "user_id": 987654, "quota": i, "created_at": i} for i in range(1200)]
    await logs.insert_many(entries)           # several slices
    await logs.insert_many(entries)           # as after a failure: the same entries, ids and all
    assert await logs.collection.count_documents({"user_id": 987654}) == 1200


async def _until(condition, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.mark.gen_test
async def test_while_the_log_buffer_is_full_a_new_request_waits_for_a_write(gateway, upstream):
    batch = gateway.services.batch
    batch.max_logs = 2
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)
    await batch._lock.acquire()            # a slow write under way all along
    try:
        for _ in range(2):
            assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
        await gateway.services.inflight.idle()
        assert batch.full
        third = asyncio.ensure_future(gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key))
        await _until(lambda: batch.waiting == 1)
        assert len(upstream.requests) == 2 and not third.done()
        assert (await gateway.services.db.users.get(user.id)).request_count == 0
    finally:
        batch._lock.release()              # that write ends
    await batch.flush()                    # the next one takes the buffer out: the waiting request goes on
    assert (await third).status == 200
    await gateway.services.inflight.idle()
    assert batch.pending_logs == 1
    assert (await gateway.services.db.logs.page({"user_id": user.id}, 0, 10))[1] == 2


@pytest.mark.gen_test
async def test_entries_added_during_a_write_do_not_queue_more_writes(gateway):
    batch = gateway.services.batch
    batch.max_logs = 1
    await batch._lock.acquire()
    try:
        for i in range(3):     # returns at once although the buffer is over its size
            await asyncio.wait_for(batch.add_log({"type": 2, "user_id": 424242, "quota": i, "created_at": i}), 5)
        assert batch.pending_logs == 3 and batch.waiting == 0
    finally:
        batch._lock.release()
    await batch.flush()
    assert await gateway.services.db.logs.collection.count_documents({"user_id": 424242}) == 3
