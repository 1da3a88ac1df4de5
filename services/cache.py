"""A small in-process cache with a time limit per entry and a size bound (least recently used out)."""
import collections
import dataclasses
import logging
import time

import ujson

log = logging.getLogger("tollgate.cache")

_MISSING = object()


class TtlCache:
    def __init__(self, seconds: float, max_entries: int = 100_000, clock=time.monotonic):
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries = collections.OrderedDict()

    def get(self, key, default=_MISSING):
        """The cached value, or `default` (a sentinel by default, see `missing`)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < self.clock():
            return default
        self._entries.move_to_end(key)
        return entry[1]

    @staticmethod
    def missing(value) -> bool:
        return value is _MISSING

    def put(self, key, value):
        if self.seconds <= 0:
            return
        self._entries[key] = (self.clock() + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key):
        self._entries.pop(key, None)

    def clear(self):
        self._entries.clear()


class SharedCache:
    """Dataclass objects kept in Redis as JSON for a while, shared by every node. Any Redis failure is
    treated as a miss, so requests keep working from MongoDB while Redis is down."""

    def __init__(self, redis, seconds: int):
        self.redis = redis
        self.seconds = seconds

    @staticmethod
    def _name(kind, ident) -> str:
        return f"tollgate:{kind}:{ident}"

    async def get(self, kind, ident, cls):
        try:
            raw = await self.redis.get(self._name(kind, ident))
        except Exception as exc:
            log.warning("Redis cache read failed: %s", exc)
            return None
        return cls(**ujson.loads(raw)) if raw else None

    async def put(self, kind, ident, obj):
        try:
            await self.redis.set(self._name(kind, ident), ujson.dumps(dataclasses.asdict(obj)), ex=self.seconds)
        except Exception as exc:
            log.warning("Redis cache write failed: %s", exc)

    async def drop(self, kind, ident):
        try:
            await self.redis.delete(self._name(kind, ident))
        except Exception as exc:
            log.warning("Redis cache delete failed: %s", exc)
