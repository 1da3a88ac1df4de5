"""Background jobs that must run on exactly one process of the whole cluster.

The process holding the `jobs` lease (a document in MongoDB, renewed every third of its period)
runs them; if it dies, the lease expires and another node takes over within one lease period.
Nodes started with NODE_TYPE=slave never take the lease. A job that fails is logged and runs again
at its next time.
"""
import asyncio
import dataclasses
import logging
import os
import socket
import time
import uuid

from tornado.ioloop import PeriodicCallback

log = logging.getLogger("tollgate.jobs")
LEASE_NAME = "jobs"


def node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Lease:
    def __init__(self, locks, seconds: float, holder: str = None, clock=time.time):
        self.locks = locks
        self.seconds = seconds
        self.holder = holder or node_id()
        self.clock = clock
        self.held = False

    async def refresh(self) -> bool:
        was_held = self.held
        self.held = await self.locks.acquire(LEASE_NAME, self.holder, self.clock(), self.seconds)
        if self.held != was_held:
            log.info("%s the background-job lease (%s)", "took" if self.held else "lost", self.holder)
        return self.held

    async def release(self):
        if self.held:
            await self.locks.release(LEASE_NAME, self.holder)
            self.held = False


@dataclasses.dataclass
class Job:
    name: str
    every: float          # seconds
    run: object           # async callable
    next_at: float = 0
    task: asyncio.Task = None


class JobRunner:
    def __init__(self, lease: Lease, may_lead: bool, clock=time.time):
        self.lease = lease
        self.may_lead = may_lead
        self.clock = clock
        self.jobs = []
        self._lease_due = 0
        self._timer = None

    def add(self, name: str, every_seconds: float, run):
        if every_seconds > 0:
            self.jobs.append(Job(name, every_seconds, run, self.clock() + every_seconds))

    async def tick(self):
        """Renew the lease when due, then start every job whose time has come (if we lead)."""
        if not self.may_lead:
            return
        now = self.clock()
        if now >= self._lease_due:
            await self.lease.refresh()
            self._lease_due = now + self.lease.seconds / 3
        if not self.lease.held:
            return
        for job in self.jobs:
            if now >= job.next_at and (job.task is None or job.task.done()):
                job.next_at = now + job.every
                job.task = asyncio.ensure_future(self._run(job))

    @staticmethod
    async def _run(job):
        try:
            await job.run()
        except Exception:
            log.exception("background job %s failed; it runs again in %ss", job.name, job.every)

    def start(self):
        self._timer = PeriodicCallback(self.tick, 1000)
        self._timer.start()

    async def stop(self):
        if self._timer:
            self._timer.stop()
        running = [job.task for job in self.jobs if job.task and not job.task.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        await self.lease.release()
