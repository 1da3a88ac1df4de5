"""Background jobs run on exactly one process: the holder of a lease in MongoDB, handed over when the
holder stops renewing it. Time is a clock the test moves, so expiry needs no waiting."""
import pytest

from services.jobs import JobRunner, Lease


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def runner(gateway, clock, holder, may_lead=True, lease_seconds=30):
    lease = Lease(gateway.services.db.locks, lease_seconds, holder=holder, clock=clock)
    return JobRunner(lease, may_lead=may_lead, clock=clock)


@pytest.mark.gen_test
async def test_one_holder_at_a_time_and_hand_over_when_it_stops_renewing(gateway):
    clock = Clock()
    first, second = runner(gateway, clock, "node-a"), runner(gateway, clock, "node-b")
    await first.tick()
    await second.tick()
    assert first.lease.held and not second.lease.held

    clock.now += 20          # within the lease: node-a renews, node-b still waits
    await first.tick()
    await second.tick()
    assert first.lease.held and not second.lease.held

    clock.now += 31          # node-a died (no more ticks); its lease ran out
    await second.tick()
    assert second.lease.held
    assert await gateway.services.db.locks.holder("jobs") == "node-b"


@pytest.mark.gen_test
async def test_a_stopping_holder_releases_the_lease_at_once(gateway):
    clock = Clock()
    first, second = runner(gateway, clock, "node-a"), runner(gateway, clock, "node-b")
    await first.tick()
    await first.stop()
    await second.tick()
    assert second.lease.held


@pytest.mark.gen_test
async def test_jobs_run_only_on_the_holder_and_a_failing_job_runs_again(gateway):
    clock = Clock()
    leader, follower = runner(gateway, clock, "node-a"), runner(gateway, clock, "node-b")
    runs = {"leader": 0, "follower": 0, "failing": 0}

    async def count(name):
        runs[name] += 1

    async def fail():
        runs["failing"] += 1
        raise RuntimeError("upstream down")

    leader.add("count", 10, lambda: count("leader"))
    leader.add("fail", 10, fail)
    follower.add("count", 10, lambda: count("follower"))
    for _ in range(3):
        clock.now += 10
        await leader.tick()
        await follower.tick()
        for job in leader.jobs:
            if job.task:
                await job.task
    assert runs == {"leader": 3, "follower": 0, "failing": 3}


@pytest.mark.gen_test
async def test_a_slave_node_never_takes_the_lease(gateway):
    clock = Clock()
    slave = runner(gateway, clock, "node-s", may_lead=False)
    await slave.tick()
    assert not slave.lease.held
    assert await gateway.services.db.locks.holder("jobs") is None
