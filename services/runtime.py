"""Building every service on one MongoDB for one IOLoop; used by server.py and the tests alike."""
import dataclasses
import functools
import os
import time

import redis.asyncio
from tornado.ioloop import PeriodicCallback

from models.db import Database, connect, pool_options
from services.accounts import Accounts
from services.adaptors import configure as configure_adaptors
from services.balances import ChannelBalances
from services.batch_writer import BatchWriter
from services.billing import Billing
from services.channel_jobs import ChannelJobs
from services.channel_tests import ChannelTester
from services.changes import Changes
from services.channels import ChannelService
from services.jobs import JobRunner, Lease
from services.key_billing import KeyBilling
from services.keys import KeyResolver
from services.lifecycle import InFlight
from services.log_export import LogExport
from services.logs import LogService
from services.midjourney import MidjourneyService
from services.mj_poller import MjPoller
from services.notify import WxPusher
from services.options import OptionStore
from services.overview import Overview
from services.payments import Payments
from services.pricing import Pricing
from services.quota_book import QuotaBook, new_node_id
from services.rate_limit import MemoryCounter, RateLimiter, RedisCounter
from services.redemptions import RedemptionService
from services.redis_guard import RedisGuard
from services.relay import Relay
from services.routing import RoutingTable
from services.secrets import Keyring, load_or_create_secret
from services.tokenizer import Tokenizer
from services.tokens import TokenService
from services.upstream import Upstream
from services.users_admin import UserAdmin


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
    notices: WxPusher = None
    payments: Payments = None
    _sync: PeriodicCallback = None
    midjourney: MidjourneyService = None
    mj_poller: MjPoller = None
    book: QuotaBook = None
    batch: BatchWriter = None
    channel_tests: ChannelTester = None
    balances: ChannelBalances = None
    log_export: LogExport = None
    key_billing: KeyBilling = None
    _flusher: PeriodicCallback = None
    users_admin: UserAdmin = None
    redemptions: RedemptionService = None

    async def sync(self):
        """Re-read what other nodes may have changed."""
        await self.options.refresh()
        await self.routing.reload()

    def start_sync(self):
        self._sync = PeriodicCallback(self.sync, self.settings.sync_frequency * 1000)
        self._sync.start()
        self._flusher = PeriodicCallback(self.flush_memory, self.settings.batch_update_interval * 1000)
        self._flusher.start()
        self.jobs.start()
        self.changes.start()

    async def flush_memory(self):
        """Write what is held in memory: batched counters and logs first, then what quota reserves
        spent (so a crash can lose a bill only together with its log), then idle reserves go back."""
        await self.batch.flush()
        await self.book.sync()
        await self.book.release_idle()
        await self.db.nodes.seen(self.book.node, time.time())
        await self.changes.poll()

    async def close(self):
        if self._sync:
            self._sync.stop()
        if self._flusher:
            self._flusher.stop()
        await self.batch.flush()
        await self.book.release_all()
        await self.db.nodes.forget(self.book.node)
        if self.mj_poller:
            self.mj_poller.stop()
        await self.jobs.stop()
        await self.changes.stop()
        if self.notices is not None:
            await self.notices.idle()
        if self.redis is not None:
            await self.redis.aclose()
        self.upstream.close()
        await self.db.close()


AUTO_ENABLE_CHECK_EVERY = 10   # seconds between looks for auto-disabled channels due for a re-test
RECOVER_EVERY = 60       # seconds between looks for processes that died holding quota reserves
NODE_GONE_AFTER = 120    # seconds without a heartbeat after which a process counts as dead


async def recover_reserves(db, now=None):
    """Put the quota reserves of dead processes back on their balances."""
    for node in await db.nodes.stale((now or time.time()) - NODE_GONE_AFTER):
        for store in db.reserves.values():
            await store.recover(node)
        await db.nodes.forget(node)


def connect_redis(url: str):
    if not url:
        return None
    return redis.asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


async def build_services(settings, mongodb_uri: str) -> Services:
    configure_adaptors(settings)
    redis = connect_redis(settings.redis_conn_string)
    db = connect(mongodb_uri, settings.mongodb_db, **pool_options(settings))
    await db.ensure_indexes()
    keyring = Keyring(load_or_create_secret(settings.session_secret, settings.data_dir))
    options = OptionStore(db.options)
    await options.refresh()
    pricing = Pricing(options)
    tokenizer = shared_tokenizer(os.environ.get("TIKTOKEN_CACHE_DIR")
                                 or os.path.join(os.path.abspath(settings.data_dir), "tiktoken"))
    guard = RedisGuard(redis) if redis is not None else None
    memory = MemoryCounter()
    limits = RateLimiter(RedisCounter(guard, memory) if guard is not None else memory)
    cache_seconds = settings.token_cache_seconds if settings.memory_cache_enabled else 0
    keys = KeyResolver(db, keyring, cache_seconds, guard, settings.sync_frequency, limits)
    routing = RoutingTable(db)
    await routing.reload()
    changes = Changes(redis, db.counters)
    changes.on("token", keys.forget_token)
    changes.on("user", keys.forget_user)
    changes.on("everyone", keys.forget_everyone)
    changes.on("channels", lambda _: routing.reload())
    changes.on("options", lambda _: options.refresh())
    upstream = Upstream(settings.upstream_max_clients, settings.connect_timeout, settings.relay_timeout)
    batch = BatchWriter(db.usage, db.logs, settings.batch_update_enabled)
    book = QuotaBook(db.reserves, new_node_id())
    billing = Billing(book, batch)
    channels = ChannelService(db, routing, changes, options)
    logs = LogService(db, batch)
    relay = Relay(settings, options, pricing, billing, routing, upstream, tokenizer, channels, logs)
    accounts = Accounts(db, keyring, options, keys, changes, logs)
    await accounts.ensure_root()
    jobs = JobRunner(Lease(db.locks, settings.lease_seconds), may_lead=settings.node_type == "master")
    midjourney = MidjourneyService(db, options, pricing, billing, routing, upstream, channels, logs, keyring,
                                   settings)
    mj_poller = MjPoller(midjourney, options)
    jobs.add("midjourney-poll", settings.mj_poll_seconds, mj_poller.poll_once)
    jobs.add("recover-reserves", RECOVER_EVERY, lambda: recover_reserves(db))
    notices = WxPusher(options, upstream)
    channel_tests = ChannelTester(db, upstream, channels, options)
    balances = ChannelBalances(db, upstream, channels, options)
    upkeep = ChannelJobs(channel_tests, balances, channels, routing, settings.polling_interval)
    jobs.add("channel-tests", settings.channel_test_frequency * 60, upkeep.test_all)
    jobs.add("channel-balances", settings.channel_update_frequency * 60, upkeep.update_balances)
    jobs.add("channel-auto-enable", AUTO_ENABLE_CHECK_EVERY, upkeep.retest_auto_disabled)
    payments = Payments(db, options, notices, changes)
    jobs.add("top-up-recovery", RECOVER_EVERY, payments.recover_uncredited)
    redemptions = RedemptionService(db, accounts, logs)
    jobs.add("redemption-recovery", RECOVER_EVERY, redemptions.recover_uncredited)
    return Services(
        settings=settings, db=db, keyring=keyring, options=options, pricing=pricing, tokenizer=tokenizer,
        keys=keys, routing=routing, upstream=upstream, billing=billing, channels=channels,
        tokens=TokenService(db, keyring, changes, options), accounts=accounts, logs=logs, relay=relay, jobs=jobs,
        changes=changes, limits=limits, redis=redis, overview=Overview(db.log_stats, routing),
        midjourney=midjourney, mj_poller=mj_poller, book=book, batch=batch,
        channel_tests=channel_tests, balances=balances,
        log_export=LogExport(db), key_billing=KeyBilling(keys, options),
        notices=notices, payments=payments,
        users_admin=UserAdmin(db, accounts, logs, options), redemptions=redemptions,
    )
