"""Import a One API / New API database into Tollgate: `python -m tools.import_oneapi PATH_OR_DSN`.

Reads a SQLite file or a MySQL / MariaDB database (`mysql://user:pass@host:3306/db`, or One API's own
`user:pass@tcp(host:3306)/db`) and imports users, tokens (their keys keep working), channels with their
abilities, options, redemption codes and logs. One API ids are kept, so running it again changes
nothing: documents already imported are left alone. Writes to MONGODB_URI, or to the embedded database
under DATA_DIR (stop Tollgate first then). Token keys are hashed with the gateway's secret
(SESSION_SECRET, or the one kept in DATA_DIR).
"""
import argparse
import asyncio
import dataclasses
import sys

from conf.settings import SettingsError, load_settings
from models.db import connect, pool_options
from models.migration import Written, collection_named, insert_missing, replace_one
from services.accounts import ROOT_QUOTA
from services.embedded_mongo import EmbeddedMongo
from services.passwords import verify_password
from services.secrets import Keyring, load_or_create_secret
from tools import oneapi_convert as convert
from tools.oneapi_source import SourceError, batches, open_source

TABLES = ("users", "tokens", "channels", "abilities", "options", "redemptions", "logs")


@dataclasses.dataclass
class Summary:
    table: str
    read: int = 0
    skipped: int = 0          # deleted in the source, or without the data to import
    written: Written = dataclasses.field(default_factory=Written)
    notes: list = dataclasses.field(default_factory=list)
    missing: bool = False     # the source has no such table

    def line(self) -> str:
        if self.missing:
            return f"{self.table:12} not in the source database"
        w = self.written
        text = (f"{self.table:12} read {self.read:>7}  imported {w.inserted:>7}  already there {w.present:>7}  "
                f"conflicts {w.conflicts:>5}  skipped {self.skipped:>5}")
        return "\n".join([text] + [f"{'':14}{note}" for note in self.notes])


class Importer:
    def __init__(self, source, db, keyring, log_source=None):
        self.source = source
        self.log_source = log_source or source
        self.db = db
        self.keyring = keyring
        tables = source.tables()
        self.tables = tables
        self.flavor = convert.detect_flavor(
            source.columns("tokens") if "tokens" in tables else set(),
            source.columns("channels") if "channels" in tables else set())
        self.channel_ids = []
        self.foreign_user_ids = set()   # source users whose id belongs to someone else here
        self.deleted_user_ids = set()

    async def run(self) -> list:
        summaries = []
        for table in TABLES:
            source = self.log_source if table == "logs" else self.source
            summary = Summary(table)
            if table not in source.tables():
                summary.missing = True
            else:
                await getattr(self, f"_{table}")(source, summary)
            summaries.append(summary)
        return summaries

    async def _rows(self, source, table, summary, convert_row, collection, key="id", before_write=None):
        """Convert and write `table` batch by batch; returns the largest id read."""
        top = 0
        for rows in batches(source, table, key):
            summary.read += len(rows)
            docs = [doc for doc in map(convert_row, rows) if doc is not None]
            summary.skipped += len(rows) - len(docs)
            if before_write:
                await before_write(docs, summary)
            if docs:
                summary.written.add(await insert_missing(collection, docs))
            if key == "id":
                top = max(top, max(int(r["id"]) for r in rows))
        return top

    async def _users(self, source, summary):
        top = await self._rows(source, "users", summary, lambda row: convert.user_doc(row, self.keyring),
                               self.db.users.collection, before_write=self._take_over_default_root)
        await self.db.counters.at_least("users", top)
        await self._find_foreign_users(source, summary)

    async def _find_foreign_users(self, source, summary):
        """Source users not stored under their own id (a username or id clash): their tokens must not
        be attached to whoever holds that id here."""
        for rows in batches(source, "users"):
            self.deleted_user_ids.update(int(r["id"]) for r in rows if convert.deleted_user(r))
            names = {int(r["id"]): str(r["username"]) for r in rows if not convert.deleted_user(r)}
            stored = {d["_id"]: d["username"] async for d in self.db.users.collection.find(
                {"_id": {"$in": list(names)}}, {"username": 1})}
            self.foreign_user_ids.update(i for i, name in names.items() if stored.get(i) != name)
        if self.foreign_user_ids:
            summary.notes.append(f"users not imported because of a clash: ids {sorted(self.foreign_user_ids)}; "
                                 "their tokens are skipped")

    async def _take_over_default_root(self, docs, summary):
        """Tollgate made root / 123456 on first start; the imported root account takes its place."""
        for doc in docs:
            if doc["role"] != 100:
                continue
            current = await self.db.users.get(doc["_id"])
            if current is None or current.username != doc["username"]:
                continue
            untouched = (current.quota == ROOT_QUOTA and current.used_quota == 0 and current.request_count == 0
                         and not (await self.db.tokens.page(current.id, "", 0, 1))[1]
                         and await verify_password(current.password_hash, "123456"))
            if untouched and current.password_hash != doc["password_hash"]:
                await replace_one(self.db.users.collection, doc)
                summary.written.inserted += 1       # counted as imported, not as already there
                summary.written.present -= 1
                summary.notes.append(f"the default root account was replaced by {doc['username']!r} (id {doc['_id']})")

    async def _tokens(self, source, summary):
        def convert_row(row):
            owner = int(row.get("user_id") or 0)
            if owner in self.foreign_user_ids or owner in self.deleted_user_ids:
                return None
            return convert.token_doc(row, self.keyring, self.flavor)

        top = await self._rows(source, "tokens", summary, convert_row, self.db.tokens.collection)
        await self.db.counters.at_least("tokens", top)

    async def _channels(self, source, summary):
        unsupported = {}

        def convert_row(row):
            doc, supported = convert.channel_doc(row, self.flavor)
            self.channel_ids.append(doc["_id"])
            if not supported:
                unsupported[doc["_id"]] = doc["status_reason"]
            return doc

        top = await self._rows(source, "channels", summary, convert_row, self.db.channels.collection)
        await self.db.counters.at_least("channels", top)
        for channel_id, reason in sorted(unsupported.items()):
            summary.notes.append(f"channel {channel_id} imported disabled ({reason})")

    async def _abilities(self, source, summary):
        """Rebuilt from the imported channels (as One API's channel fix does), not copied."""
        summary.read = sum(len(rows) for rows in batches(source, "abilities", "channel_id"))
        built = 0
        for channel_id in self.channel_ids:
            channel = await self.db.channels.get(channel_id)
            if channel is not None:
                await self.db.abilities.replace_for_channel(channel)
                built += len(set(channel.groups)) * len(set(channel.models))
        summary.notes.append(f"{built} routing rows rebuilt from {len(self.channel_ids)} channels")

    async def _options(self, source, summary):
        await self._rows(source, "options", summary, convert.option_doc, self.db.options.collection, key="key")

    async def _redemptions(self, source, summary):
        top = await self._rows(source, "redemptions", summary, convert.redemption_doc,
                               collection_named(self.db, "redemptions"))
        await self.db.counters.at_least("redemptions", top)

    async def _logs(self, source, summary):
        flavor = self.flavor
        await self._rows(source, "logs", summary, lambda row: convert.log_doc(row, flavor),
                         self.db.logs.collection)


async def import_database(location: str, db, keyring, log_location: str = "") -> list:
    """Import everything from `location` (and logs from `log_location` when they live apart)."""
    source = open_source(location)
    log_source = open_source(log_location) if log_location else None
    try:
        return await Importer(source, db, keyring, log_source).run()
    finally:
        source.close()
        if log_source:
            log_source.close()


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.import_oneapi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="One API SQLite file, or a MySQL DSN (its SQL_DSN)")
    parser.add_argument("--logs", default="", help="where the logs are, when One API kept them apart (LOG_SQL_DSN)")
    return parser.parse_args(argv)


async def _run(args, settings, mongodb_uri) -> list:
    db = connect(mongodb_uri, settings.mongodb_db, **pool_options(settings))
    try:
        await db.ensure_indexes()
        keyring = Keyring(load_or_create_secret(settings.session_secret, settings.data_dir))
        return await import_database(args.source, db, keyring, args.logs)
    finally:
        await db.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"cannot import: {exc}")
    try:
        open_source(args.source).close()      # fail before starting anything when the source is wrong
    except SourceError as exc:
        sys.exit(f"cannot import: {exc}")
    embedded = None if settings.mongodb_uri else EmbeddedMongo(settings.data_dir).start()
    try:
        summaries = asyncio.run(_run(args, settings, settings.mongodb_uri or embedded.uri))
    except SourceError as exc:
        sys.exit(f"cannot import: {exc}")
    finally:
        if embedded:
            embedded.stop()
    print(f"Imported from {args.source}:")
    for summary in summaries:
        print(summary.line())
    print("Running Tollgate servers pick up the channels within SYNC_FREQUENCY seconds, or at once on restart.")


if __name__ == "__main__":
    main()
