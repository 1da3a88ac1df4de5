"""Calling Redis without letting an outage slow every request: after a failure, Redis is left alone for
a few seconds and callers fall back (to MongoDB, or to counting in memory)."""
import logging
import time

log = logging.getLogger("tollgate.redis")
PAUSE_SECONDS = 5


class RedisGuard:
    def __init__(self, redis, clock=time.monotonic):
        self.redis = redis
        self.clock = clock
        self._paused_until = 0.0

    async def call(self, what: str, operation, default=None):
        """Run `operation(redis)`; on failure, or while paused after one, return `default`."""
        if self.clock() < self._paused_until:
            return default
        try:
            return await operation(self.redis)
        except Exception as exc:
            if self.clock() >= self._paused_until:
                log.warning("Redis %s failed (%s); using MongoDB and memory for %ss", what, exc, PAUSE_SECONDS)
            self._paused_until = self.clock() + PAUSE_SECONDS
            return default
