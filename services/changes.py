"""Change notices: when a channel, option, token or user changes, every process drops or reloads what it
holds. Handlers on this process run at once; with Redis, the notice is published to every other node too.
Without Redis, every change also bumps a counter in MongoDB that each process checks every second
(`poll`): a process that sees it move reloads channels and options and forgets its cached tokens and users."""
import asyncio
import logging
import uuid

import ujson

log = logging.getLogger("tollgate.changes")
CHANNEL = "tollgate:changes"
COUNTER = "changes"


class Changes:
    def __init__(self, redis=None, counters=None):
        self.redis = redis
        self.counters = counters          # used without Redis: models.counters.Counters
        self._seen = None                 # the change counter as this process last knew it
        self.origin = uuid.uuid4().hex
        self._handlers = {}
        self._listener = None
        self.listening = asyncio.Event()   # set once subscribed to other nodes' notices

    def on(self, kind: str, handler):
        self._handlers.setdefault(kind, []).append(handler)

    async def publish(self, kind: str, value=None):
        await self._dispatch(kind, value)
        if self.redis is None:
            if self.counters is not None:
                self._seen = await self.counters.next_id(COUNTER)
            return
        message = ujson.dumps({"origin": self.origin, "kind": kind, "value": value})
        try:
            await self.redis.publish(CHANNEL, message)
        except Exception as exc:
            log.warning("could not publish a %s change to Redis: %s", kind, exc)

    async def poll(self):
        """Without Redis: catch up with changes other processes made since the last look."""
        if self.redis is not None or self.counters is None:
            return
        current = await self.counters.current(COUNTER)
        if self._seen is not None and current != self._seen:
            for kind in ("channels", "options", "everyone"):
                await self._dispatch(kind, None)
        self._seen = current

    async def _dispatch(self, kind, value):
        for handler in self._handlers.get(kind, ()):
            result = handler(value)
            if asyncio.iscoroutine(result):
                await result

    def start(self):
        if self.redis is not None:
            self._listener = asyncio.ensure_future(self._listen())

    async def stop(self):
        if self._listener:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def _listen(self):
        """Follow other nodes' notices; reconnect after Redis failures."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.listening.set()
                    async for message in pubsub.listen():
                        await self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Redis change notices interrupted: %s", exc)
                await asyncio.sleep(1)   # back off before reconnecting

    async def _receive(self, message):
        if message.get("type") != "message":
            return
        try:
            notice = ujson.loads(message["data"])
        except ValueError:
            return
        if notice.get("origin") != self.origin:
            await self._dispatch(notice.get("kind"), notice.get("value"))
