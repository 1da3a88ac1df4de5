"""Channel upkeep that the job-lease holder runs: test every channel, refresh balances, and re-test
automatically disabled channels at their own auto-enable interval, enabling them again when they pass.
A channel an administrator disabled by hand is never tested back on."""
import asyncio
import logging
import time

from models.channels import STATUS_AUTO_DISABLED, STATUS_ENABLED
from services.errors import ServiceError

log = logging.getLogger("tollgate.channel_jobs")


class ChannelJobs:
    def __init__(self, tester, balances, channels, routing, pause_seconds: float, clock=time.time):
        self.tester = tester
        self.balances = balances
        self.channels = channels
        self.routing = routing
        self.pause_seconds = pause_seconds     # POLLING_INTERVAL: between two channels, not to hammer upstreams
        self.clock = clock

    def _upkept(self):
        return [c for c in self.routing.channels.values() if c.status in (STATUS_ENABLED, STATUS_AUTO_DISABLED)]

    async def _each(self, channels, action):
        for index, channel in enumerate(channels):
            if index and self.pause_seconds:
                await asyncio.sleep(self.pause_seconds)
            try:
                await action(channel)
            except ServiceError as exc:      # a deleted channel, an upstream without billing, ...
                log.info("channel %s: %s", channel.id, exc)

    async def test_all(self):
        await self._each(self._upkept(), lambda channel: self.tester.test(channel.id))

    async def update_balances(self):
        enabled = [c for c in self.routing.channels.values() if c.status == STATUS_ENABLED]
        await self._each(enabled, lambda channel: self.balances.update(channel.id))

    async def retest_auto_disabled(self):
        """Re-test each auto-disabled channel whose own interval has passed since its last test."""
        now = self.clock()
        due = [c for c in self.routing.channels.values()
               if c.status == STATUS_AUTO_DISABLED and c.auto_enable_interval > 0
               and now - c.test_time >= c.auto_enable_interval]
        await self._each(due, self._retest)

    async def _retest(self, channel):
        result = await self.tester.test(channel.id)
        if result.success:
            await self.channels.enable_automatically(channel.id, "passed its automatic re-test")
