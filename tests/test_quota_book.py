"""Per-process quota reserves on the real database: requests are served from memory, no balance is
overdrawn by any number of concurrent requests or processes, and a dead process's reserve comes back."""
import asyncio

import pytest

from models.reserves import Reserves
from services.quota_book import AHEAD_SHARE, BLOCK_FACTOR, RATE_PERIODS, QuotaBook


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
    for _ in range(BLOCK_FACTOR // 2 - 1):   # half the block: not yet below what this period spent
        assert await quota.take("user", user.id, 10)
    assert await balance(gateway, user) == (100_000 - 10 * BLOCK_FACTOR, {"node-a": 10 * BLOCK_FACTOR})
    await quota.sync()                       # what was spent is recorded
    spent = 10 * (BLOCK_FACTOR // 2)
    assert await balance(gateway, user) == (100_000 - 10 * BLOCK_FACTOR, {"node-a": 10 * BLOCK_FACTOR - spent})
    quota.give("user", user.id, 30)          # a refund goes into the reserve
    await quota.release_all()
    assert await balance(gateway, user) == (100_000 - spent + 30, {"node-a": 0})


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


class CountingReserves(Reserves):
    def __init__(self, *args):
        super().__init__(*args)
        self.reserve_calls = 0

    async def reserve(self, doc_id, node, amount):
        self.reserve_calls += 1
        return await super().reserve(doc_id, node, amount)


@pytest.mark.gen_test
async def test_a_busy_balance_gets_blocks_sized_by_its_rate_fetched_before_it_runs_out(gateway):
    user = await gateway.make_user(quota=1_000_000)
    quota = book(gateway, "node-a")
    for _ in range(BLOCK_FACTOR // 2):
        assert await quota.take("user", user.id, 10)      # 100 of the first block of 200 in this sync period
    await quota.sync()                                    # this balance spends 100 a period
    assert await quota.take("user", user.id, 10)          # 90 left: less than a period's spending
    await quota.refills_done()                            # the next block came without a request waiting,
    block = 100 * RATE_PERIODS                            # sized for RATE_PERIODS periods at that rate
    assert await balance(gateway, user) == (1_000_000 - 200 - block, {"node-a": 100 + block})
    assert quota.held() == 90 + block
    await quota.release_all()
    assert await balance(gateway, user) == (1_000_000 - 110, {"node-a": 0})


@pytest.mark.gen_test
async def test_a_reserve_that_starts_under_load_grows_with_it_before_the_first_sync(gateway):
    user = await gateway.make_user(quota=10 ** 9)
    users = CountingReserves(gateway.services.db.users.collection, "quota")
    quota = QuotaBook({"user": users}, "node-a", Clock())
    for _ in range(2000):                                 # no sync yet: no rate known
        assert await quota.take("user", user.id, 10)
    assert users.reserve_calls <= 8                       # blocks of BLOCK_FACTOR × 10 alone: 100 refills
    await quota.release_all()
    assert await balance(gateway, user) == (10 ** 9 - 20_000, {"node-a": 0})


@pytest.mark.gen_test
async def test_a_low_balance_is_not_asked_for_blocks_ahead_again_and_again(gateway):
    user = await gateway.make_user(quota=260)
    users = CountingReserves(gateway.services.db.users.collection, "quota")
    quota = QuotaBook({"user": users}, "node-a", Clock())
    for _ in range(BLOCK_FACTOR):
        assert await quota.take("user", user.id, 10)      # one block of 200; 60 left on the balance
    await quota.sync()
    assert await quota.take("user", user.id, 10)          # too little for a block: just what is needed
    await quota.refills_done()                            # one try ahead, refused
    calls = users.reserve_calls
    assert await quota.take("user", user.id, 10)
    await quota.refills_done()
    assert users.reserve_calls == calls + 2               # a block, then the need; no try ahead
    await quota.release_all()
    assert await balance(gateway, user) == (260 - 220, {"node-a": 0})


class HeldReserves(Reserves):
    """Refills wait until the test lets them through."""

    def __init__(self, *args):
        super().__init__(*args)
        self.started, self.go = asyncio.Event(), asyncio.Event()

    async def reserve(self, doc_id, node, amount):
        self.started.set()
        await self.go.wait()
        return await super().reserve(doc_id, node, amount)


@pytest.mark.gen_test
async def test_a_reserve_is_not_released_while_a_request_waits_for_its_refill(gateway):
    user = await gateway.make_user(quota=100_000)
    clock = Clock()
    users = HeldReserves(gateway.services.db.users.collection, "quota")
    quota = QuotaBook({"user": users}, "node-a", clock)
    waiting = [asyncio.ensure_future(quota.take("user", user.id, 500)) for _ in range(3)]
    await users.started.wait()                            # a refill under way, three requests waiting for it
    clock.now += 10                                       # and, by the book's clock, long ago
    await quota.release_idle(2)                           # must leave alone a reserve someone waits for
    users.go.set()
    assert await asyncio.gather(*waiting) == [True] * 3
    await quota.release_all()
    assert await balance(gateway, user) == (100_000 - 1500, {"node-a": 0})


@pytest.mark.gen_test
async def test_requests_waiting_for_a_refill_that_fails_try_again_themselves(gateway):
    user = await gateway.make_user(quota=100_000)
    users = HeldReserves(gateway.services.db.users.collection, "quota")
    quota = QuotaBook({"user": users}, "node-a", Clock())
    failing = users.reserve

    async def fail_once(*args):
        users.reserve = failing
        users.started.set()
        await users.go.wait()
        raise ConnectionError("database away")
    users.reserve = fail_once
    first = asyncio.ensure_future(quota.take("user", user.id, 10))
    others = [asyncio.ensure_future(quota.take("user", user.id, 10)) for _ in range(3)]
    await users.started.wait()                            # the first refill under way, three waiting for it
    users.go.set()
    with pytest.raises(ConnectionError):
        await first                                       # the request whose refill failed sees it
    assert await asyncio.gather(*others) == [True] * 3    # the others refilled after it
    await quota.release_all()
    assert await balance(gateway, user) == (100_000 - 30, {"node-a": 0})


@pytest.mark.gen_test
async def test_a_burst_of_requests_on_a_new_reserve_waits_for_few_refills(gateway):
    user = await gateway.make_user(quota=10 ** 9)
    quota = book(gateway, "node-a")
    store, refills = quota.stores["user"], []
    reserve = store.reserve

    async def counted(*args):
        refills.append(args)
        return await reserve(*args)
    store.reserve = counted

    results = await asyncio.gather(*[quota.take("user", user.id, 10) for _ in range(500)])

    assert all(results)
    assert len(refills) <= 3        # blocks of BLOCK_FACTOR × 10 alone would take 25, one after another
    await quota.release_all()
    assert await balance(gateway, user) == (10 ** 9 - 5000, {"node-a": 0})
