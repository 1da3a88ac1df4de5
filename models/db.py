"""Connecting to MongoDB and building every repository on one database."""
import dataclasses

from pymongo import AsyncMongoClient

from models.abilities import Abilities
from models.channels import Channels
from models.counters import Counters
from models.locks import Locks
from models.log_stats import LogStats
from models.logs import Logs
from models.mj_tasks import MjTasks
from models.options import Options
from models.reserves import Nodes, Reserves
from models.tokens import Tokens
from models.usage import UsageCounters
from models.users import Users


@dataclasses.dataclass
class Database:
    client: AsyncMongoClient
    counters: Counters
    users: Users
    tokens: Tokens
    channels: Channels
    abilities: Abilities
    logs: Logs
    options: Options
    locks: Locks
    log_stats: LogStats
    mj_tasks: MjTasks
    reserves: dict
    nodes: Nodes
    usage: UsageCounters

    async def ensure_indexes(self):
        for repo in (self.users, self.tokens, self.channels, self.abilities, self.logs):
            await repo.ensure_indexes()
        await self.mj_tasks.ensure_indexes()

    async def ping(self):
        await self.client.admin.command("ping")

    async def close(self):
        await self.client.close()


def connect(uri: str, name: str, **pool_options) -> Database:
    client = AsyncMongoClient(uri, tz_aware=False, **pool_options)
    db = client[name]
    counters = Counters(db.counters)
    return Database(
        client=client,
        counters=counters,
        users=Users(db.users, counters),
        tokens=Tokens(db.tokens, counters),
        channels=Channels(db.channels, counters),
        abilities=Abilities(db.abilities),
        logs=Logs(db.logs),
        options=Options(db.options),
        locks=Locks(db.locks),
        log_stats=LogStats(db.logs),
        mj_tasks=MjTasks(db.mj_tasks, counters),
        reserves={"user": Reserves(db.users, "quota"), "token": Reserves(db.tokens, "remain_quota")},
        nodes=Nodes(db.nodes),
        usage=UsageCounters(db.users, db.tokens, db.channels),
    )
