"""Per-process quota reserves on the real database: requests are served from memory, no balance is
overdrawn by any number of concurrent requests or processes, and a dead process's reserve comes back."""
import asyncio

import pytest

from models.reserves import Reserves
from services.quota_book import BLOCK_FACTOR, QuotaBook


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def book(gateway, node, clock=None):
    users = Reserves(gateway.services.db.users.collection, "quota")
    return QuotaBook({"user": users}, node, clock or Clock())


async def balance(gateway, user):
    doc = await gateway.services.db.users.collection.find_one({"_id": user.id})
    return doc["quota"], doc.get("reserved", {})


@pytest.mark.gen_test
async def test_a_refill_serves_the_next_requests_from_memory(gateway):
    user = await gateway.make_user(quota=100_000)
    quota = book(gateway, "node-a")
    assert await quota.take("user", user.id, 10)
    assert await balance(gateway, user) == (100_000 - 10 * BLOCK_FACTOR, {"node-a": 10 * BLOCK_FACTOR})
    for _ in range(BLOCK_FACTOR - 1):
        assert await quota.take("user", user.id, 10)
    assert await balance(gateway, user) == (100_000 - 10 * BLOCK_FACTOR, {"node-a": 10 * BLOCK_FACTOR})
    await quota.sync()                       # what was spent is recorded
    assert await balance(gateway, user) == (100_000 - 10 * BLOCK_FACTOR, {"node-a": 0})
    quota.give("user", user.id, 30)          # a refund goes into the reserve
    await quota.release_all()
    assert await balance(gateway, user) == (100_000 - 10 * BLOCK_FACTOR + 30, {"node-a": 0})


@pytest.mark.gen_test
async def test_two_processes_and_many_requests_never_overdraw(gateway):
    user = await gateway.make_user(quota=1000)
    first, second = book(gateway, "node-a"), book(gateway, "node-b")
    results = await asyncio.gather(*[(first if i % 2 else second).take("user", user.id, 7) for i in range(300)])
    taken = 7 * sum(results)
    assert 0 < taken <= 1000
    await first.release_all()
    await second.release_all()
    quota, reserved = await balance(gateway, user)
    assert quota == 1000 - taken and sum(reserved.values()) == 0


@pytest.mark.gen_test
async def test_take_up_to_takes_what_is_left(gateway):
    user = await gateway.make_user(quota=50)
    quota = book(gateway, "node-a")
    assert await quota.take_up_to("user", user.id, 80) == 50
    assert await quota.take_up_to("user", user.id, 5) == 0
    await quota.release_all()
    assert await balance(gateway, user) == (0, {"node-a": 0})


@pytest.mark.gen_test
async def test_an_idle_reserve_goes_back_to_the_balance(gateway):
    user = await gateway.make_user(quota=100_000)
    clock = Clock()
    quota = book(gateway, "node-a", clock)
    await quota.take("user", user.id, 10)
    await quota.release_idle(2)
    assert (await balance(gateway, user))[0] == 100_000 - 10 * BLOCK_FACTOR     # still in use
    clock.now += 3
    await quota.release_idle(2)
    assert await balance(gateway, user) == (100_000 - 10, {"node-a": 0})


@pytest.mark.gen_test
async def test_a_dead_processes_reserve_is_recovered_exactly_once(gateway):
    user = await gateway.make_user(quota=100_000)
    dead = book(gateway, "node-dead")
    await dead.take("user", user.id, 10)
    await dead.sync()                           # the spend is recorded, then the process dies
    store = Reserves(gateway.services.db.users.collection, "quota")

    moved = await asyncio.gather(store.recover("node-dead"), store.recover("node-dead"))

    assert sorted(moved) == [0, 10 * BLOCK_FACTOR - 10]
    assert await balance(gateway, user) == (100_000 - 10, {})   # what it spent stays spent
