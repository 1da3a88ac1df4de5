"""Connecting to MongoDB and building every repository on one database."""
import dataclasses

from pymongo import AsyncMongoClient

from models.abilities import Abilities
from models.channels import Channels
from models.counters import Counters
from models.locks import Locks
from models.logs import Logs
from models.options import Options
from models.tokens import Tokens
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

    async def ensure_indexes(self):
        for repo in (self.users, self.tokens, self.channels, self.abilities, self.logs):
            await repo.ensure_indexes()

    async def ping(self):
        await self.client.admin.command("ping")

    async def close(self):
        await self.client.close()


def pool_options(settings) -> dict:
    """The driver's connection pool, sized by One API's SQL_MAX_* settings."""
    options = {"maxPoolSize": settings.sql_max_open_conns, "minPoolSize": settings.sql_max_idle_conns}
    if settings.sql_conn_max_lifetime:
        options["maxIdleTimeMS"] = settings.sql_conn_max_lifetime * 1000
    return options


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
    )
