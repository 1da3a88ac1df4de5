"""Tracking Midjourney tasks: one pass reads every unfinished task from its channel in batches
(`list-by-condition`), applies what the upstream reports (refunding failures), and fails and refunds
tasks the upstream has not finished within the time-out.

The notify hook is only a shortcut: midjourney-proxy sends each callback once and never retries, so
this pass is what guarantees every task ends. Run it on one node (the background-job leader).
"""
import logging
import time

from tornado.ioloop import PeriodicCallback

log = logging.getLogger("tollgate.midjourney")

BATCH_SIZE = 50
DEFAULT_INTERVAL = 15      # seconds between passes, as New API polls
REFUND_GRACE = 60          # seconds after which a refund still not paid in full is taken as cut short


class MjPoller:
    def __init__(self, service, options, batch_size: int = BATCH_SIZE):
        self.service = service
        self.options = options
        self.batch_size = batch_size
        self._timer = None
        self._running = False

    @property
    def timeout(self) -> int:
        return self.options["MjTaskTimeout"]

    async def poll_once(self, now: float = None) -> dict:
        """One pass over every unfinished task. `now` (epoch seconds) decides the time-outs.
        Returns counts: checked, timed_out and refunds_finished (refunds a stopped process left half-paid)."""
        now = time.time() if now is None else now
        half_paid = await self.service.db.mj_tasks.unfinished_refunds(int(now) - REFUND_GRACE)
        for task in half_paid:
            await self.service.pay_refund(task)
        tasks = await self.service.db.mj_tasks.unfinished()
        by_channel = {}
        for task in tasks:
            by_channel.setdefault(task.channel_id, []).append(task)
        current = []
        for channel_id, group in by_channel.items():
            current += await self._poll_channel(channel_id, group)
        timed_out = 0
        for task in current:
            if not task.finished and now - task.created_at > self.timeout:
                await self.service.fail(task, f"the upstream did not finish the task within {self.timeout} s")
                timed_out += 1
        return {"checked": len(tasks), "timed_out": timed_out, "refunds_finished": len(half_paid)}

    async def _poll_channel(self, channel_id: int, tasks: list) -> list:
        """The tasks of one channel after applying its reports (unchanged when it could not be asked)."""
        channel = self.service.routing.channels.get(channel_id) or await self.service.db.channels.get(channel_id)
        if channel is None:
            return [await self.service.fail(t, f"channel {channel_id} no longer exists") for t in tasks]
        current = []
        for start in range(0, len(tasks), self.batch_size):
            batch = {t.mj_id: t for t in tasks[start:start + self.batch_size]}
            reports = await self.service.list_upstream(channel, list(batch))
            for report in reports or ():
                task = batch.get(report.get("id"))
                if task is not None:
                    batch[task.mj_id] = await self.service.apply_update(task, report)
            current += batch.values()
        return current

    # The periodic job ---------------------------------------------------------------------------
    def start(self, interval_seconds: float = DEFAULT_INTERVAL):
        if self._timer is None:
            self._timer = PeriodicCallback(self._tick, interval_seconds * 1000)
            self._timer.start()

    def stop(self):
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    async def _tick(self):
        if self._running:   # the last pass is still going (a slow upstream); skip this one
            return
        self._running = True
        try:
            await self.poll_once()
        except Exception:
            log.exception("Midjourney poll failed")
        finally:
            self._running = False
