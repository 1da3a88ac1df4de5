"""Building every service on one MongoDB for one IOLoop; used by server.py and the tests alike."""
import dataclasses
import functools
import os

import redis.asyncio
from tornado.ioloop import PeriodicCallback

from models.db import Database, connect
from services.accounts import Accounts
from services.adaptors import configure as configure_adaptors
from services.billing import Billing
from services.changes import Changes
from services.channels import ChannelService
from services.jobs import JobRunner, Lease
from services.keys import KeyResolver
from services.lifecycle import InFlight
from services.logs import LogService
from services.options import OptionStore
from services.overview import Overview
from services.pricing import Pricing
from services.rate_limit import MemoryCounter, RateLimiter, RedisCounter
from services.redis_guard import RedisGuard
from services.relay import Relay
from services.routing import RoutingTable
from services.secrets import Keyring, load_or_create_secret
from services.tokenizer import Tokenizer
from services.tokens import TokenService
from services.upstream import Upstream


@functools.lru_cache(maxsize=None)
def shared_tokenizer(cache_dir: str) -> Tokenizer:
    """Encodings are loaded once per process (they take a moment and never change)."""
    return Tokenizer(cache_dir)


@dataclasses.dataclass
class Services:
    settings: object
    db: Database
    keyring: Keyring
    options: OptionStore
    pricing: Pricing
    tokenizer: Tokenizer
    keys: KeyResolver
    routing: RoutingTable
    upstream: Upstream
    billing: Billing
    channels: ChannelService
    tokens: TokenService
    accounts: Accounts
    logs: LogService
    relay: Relay
    jobs: JobRunner = None
    changes: Changes = None
    limits: RateLimiter = None
    redis: object = None
    overview: Overview = None
    inflight: InFlight = dataclasses.field(default_factory=InFlight)
    _sync: PeriodicCallback = None

    async def sync(self):
        """Re-read what other nodes may have changed."""
        await self.options.refresh()
        await self.routing.reload()

    def start_sync(self):
        self._sync = PeriodicCallback(self.sync, self.settings.sync_frequency * 1000)
        self._sync.start()
        self.jobs.start()
        self.changes.start()

    async def close(self):
        if self._sync:
            self._sync.stop()
        await self.jobs.stop()
        await self.changes.stop()
        if self.redis is not None:
            await self.redis.aclose()
        self.upstream.close()
        await self.db.close()


def connect_redis(url: str):
    if not url:
        return None
    return redis.asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


async def build_services(settings, mongodb_uri: str) -> Services:
    configure_adaptors(settings)
    redis = connect_redis(settings.redis_conn_string)
    db = connect(mongodb_uri, settings.mongodb_db)
    await db.ensure_indexes()
    keyring = Keyring(load_or_create_secret(settings.session_secret, settings.data_dir))
    options = OptionStore(db.options)
    await options.refresh()
    pricing = Pricing(options)
    tokenizer = shared_tokenizer(os.environ.get("TIKTOKEN_CACHE_DIR")
                                 or os.path.join(os.path.abspath(settings.data_dir), "tiktoken"))
    guard = RedisGuard(redis) if redis is not None else None
    keys = KeyResolver(db, keyring, settings.token_cache_seconds, guard, settings.sync_frequency)
    routing = RoutingTable(db)
    await routing.reload()
    changes = Changes(redis)
    changes.on("token", keys.forget_token)
    changes.on("user", keys.forget_user)
    changes.on("channels", lambda _: routing.reload())
    changes.on("options", lambda _: options.refresh())
    upstream = Upstream(settings.upstream_max_clients, settings.connect_timeout, settings.relay_timeout)
    billing = Billing(db, options)
    channels = ChannelService(db, routing, changes)
    logs = LogService(db)
    relay = Relay(settings, options, pricing, billing, routing, upstream, tokenizer, channels, logs)
    accounts = Accounts(db, keyring, options, keys)
    await accounts.ensure_root()
    memory = MemoryCounter()
    limits = RateLimiter(RedisCounter(guard, memory) if guard is not None else memory)
    jobs = JobRunner(Lease(db.locks, settings.lease_seconds), may_lead=settings.node_type == "master")
    return Services(settings, db, keyring, options, pricing, tokenizer, keys, routing, upstream, billing,
                    channels, TokenService(db, keyring, changes), accounts, logs, relay, jobs, changes, limits,
                    redis, Overview(db.log_stats, routing))
