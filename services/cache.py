"""A small in-process cache with a time limit per entry and a size bound (least recently used out)."""
import collections
import dataclasses
import time

import ujson

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
    """Dataclass objects kept in Redis as JSON for a while, shared by every node. A Redis failure counts
    as a miss, so requests keep working from MongoDB while Redis is down."""

    def __init__(self, guard, seconds: int):
        self.guard = guard
        self.seconds = seconds

    @staticmethod
    def _name(kind, ident) -> str:
        return f"tollgate:{kind}:{ident}"

    async def get(self, kind, ident, cls):
        raw = await self.guard.call("cache read", lambda r: r.get(self._name(kind, ident)))
        return cls(**ujson.loads(raw)) if raw else None

    async def put(self, kind, ident, obj):
        value = ujson.dumps(dataclasses.asdict(obj))
        await self.guard.call("cache write", lambda r: r.set(self._name(kind, ident), value, ex=self.seconds))

    async def drop(self, kind, ident):
        await self.guard.call("cache delete", lambda r: r.delete(self._name(kind, ident)))
