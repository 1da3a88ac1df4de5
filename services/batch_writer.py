"""Writing usage counters and log entries in batches: added up in memory and written every
BATCH_UPDATE_INTERVAL seconds (one bulk update per collection and one insert for the logs), and at once
when the log buffer fills. Everything left is written when the process stops. A failed write is kept
and tried again with the next batch.

The buffer is bounded by admission: while it holds MAX_LOGS entries, a new request waits in `room()`
until a write takes the buffer out (at the start of the write, not its end). Requests already under way
still add their entries, so memory holds at most two buffers (one filling, one being written) of
MAX_LOGS plus the requests in flight, however far the database falls behind."""
import asyncio
import collections
import logging

log = logging.getLogger("tollgate.batch")
MAX_LOGS = 5000


class BatchWriter:
    def __init__(self, counters, logs, batched: bool = True):
        self.counters = counters      # models.usage.UsageCounters
        self.logs = logs              # models.logs.Logs
        self.batched = batched        # False: every log entry is written at once, with the counters
        self._counts = {kind: collections.defaultdict(collections.Counter) for kind in ("user", "token", "channel")}
        self._latest = collections.defaultdict(dict)
        self._entries = []
        self._lock = asyncio.Lock()      # one write at a time
        self._taken = asyncio.Event()    # set (and replaced) each time a write takes the buffer out
        self.max_logs = MAX_LOGS
        self.waiting = 0                 # requests held in room()

    def add_usage(self, kind: str, doc_id, latest=None, **amounts):
        counts = self._counts[kind][doc_id]
        for field, amount in amounts.items():
            counts[field] += amount
        if latest:
            self._latest[(kind, doc_id)].update(latest)

    async def add_log(self, entry: dict):
        self._entries.append(entry)
        # When full, a write under way takes this entry with the next one it starts.
        if not self.batched or (self.full and not self._lock.locked()):
            await self.flush()

    @property
    def full(self) -> bool:
        return len(self._entries) >= self.max_logs

    async def room(self):
        """Wait until the log buffer has space (callers check `full` first: the usual case costs no await)."""
        self.waiting += 1
        wrote = False
        try:
            while self.full:
                if self._lock.locked() or wrote:
                    # The write under way ends and the next starts at once; after a failed write of its
                    # own, a waiter waits for the next periodic one instead of hammering the database.
                    await self._taken.wait()
                else:
                    wrote = True
                    await self.flush()
        finally:
            self.waiting -= 1

    async def flush(self):
        async with self._lock:
            while await self._write() and self.full:   # filled again during the write: write again
                pass

    async def _write(self) -> bool:
        counts, self._counts = self._counts, {kind: collections.defaultdict(collections.Counter)
                                              for kind in self._counts}
        latest, self._latest = self._latest, collections.defaultdict(dict)
        entries, self._entries = self._entries, []
        self._taken.set()
        self._taken = asyncio.Event()
        try:
            for kind, rows in counts.items():
                await self.counters.add(kind, {i: dict(c) for i, c in rows.items() if c},
                                        {i: latest[(kind, i)] for i in rows if (kind, i) in latest})
                rows.clear()   # written: do not put back on a later failure
            await self.logs.insert_many(entries)
            return True
        except Exception:
            log.exception("batch write failed; it is kept for the next batch")
            self._put_back(counts, latest, entries)
            return False

    def _put_back(self, counts, latest, entries):
        for kind, rows in counts.items():
            for doc_id, fields in rows.items():
                self._counts[kind][doc_id].update(fields)
        for key, values in latest.items():
            self._latest[key] = {**values, **self._latest.get(key, {})}
        self._entries[:0] = entries

    @property
    def pending_logs(self) -> int:
        return len(self._entries)
