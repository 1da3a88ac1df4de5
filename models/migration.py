"""Writing documents that arrive with their own ids (an import from another gateway's database).

Only missing documents are written: a document whose `_id` is already there is left as it is, so an
import can run again (after a failure, or by mistake) without changing or duplicating anything.
"""
import dataclasses

from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


@dataclasses.dataclass
class Written:
    inserted: int = 0
    present: int = 0       # same _id already stored
    conflicts: int = 0     # another document holds one of its unique values (a username, a key)

    def add(self, other: "Written"):
        self.inserted += other.inserted
        self.present += other.present
        self.conflicts += other.conflicts


def collection_named(db, name: str):
    """A collection of the gateway's database that has no repository of its own (yet)."""
    return db.users.collection.database[name]


async def existing_ids(collection, ids: list) -> set:
    if not ids:
        return set()
    return {d["_id"] async for d in collection.find({"_id": {"$in": ids}}, {"_id": 1})}


async def insert_missing(collection, docs: list) -> Written:
    """Insert the documents whose `_id` is not stored yet; report what happened to each."""
    present = await existing_ids(collection, [d["_id"] for d in docs])
    fresh = [d for d in docs if d["_id"] not in present]
    written = Written(present=len(present))
    if not fresh:
        return written
    try:
        result = await collection.insert_many(fresh, ordered=False)
        written.inserted = len(result.inserted_ids)
    except BulkWriteError as error:
        details = error.details
        others = [e for e in details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
        if others:
            raise
        written.inserted = details.get("nInserted", 0)
        written.conflicts = len(details.get("writeErrors", []))
    return written


async def replace_one(collection, doc: dict):
    await collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)
