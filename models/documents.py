"""Turning MongoDB documents into plain dataclasses and back; `_id` is exposed as `id`."""
import dataclasses

from pymongo import ASCENDING, DESCENDING

INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1    # the whole numbers MongoDB stores


def from_doc(cls, doc):
    if doc is None:
        return None
    names = cls.__dataclass_fields__
    values = {k: v for k, v in doc.items() if k in names}
    values["id"] = doc["_id"]
    return cls(**values)


def to_doc(obj) -> dict:
    doc = dataclasses.asdict(obj)
    doc["_id"] = doc.pop("id")
    return doc


def stored_id(text: str):
    """The id `text` spells in ASCII digits, when MongoDB can store it; else None. (str.isdigit alone
    also takes digits such as "²", which int() refuses.)"""
    if text.isascii() and text.isdigit() and int(text) <= INT64_MAX:
        return int(text)
    return None


def sort_spec(field: str, descending: bool = True):
    return [(field, DESCENDING if descending else ASCENDING)]


def filter_query(filters: dict, fields, time_field: str) -> dict:
    """A query from API filters: each of `fields` given (not empty, not 0) must match exactly, and
    start_timestamp / end_timestamp bound `time_field`."""
    query = {field: filters[field] for field in fields if filters.get(field) not in (None, "", 0)}
    span = {}
    if filters.get("start_timestamp"):
        span["$gte"] = filters["start_timestamp"]
    if filters.get("end_timestamp"):
        span["$lte"] = filters["end_timestamp"]
    if span:
        query[time_field] = span
    return query


def contains_text(fields, text: str, or_equal: dict = None) -> dict:
    """A query for documents with `text` inside any of `fields`, ASCII letters in either case, or with the
    values of `or_equal`. An `$expr` ($indexOfCP in $toLower), not a `$regex`: in an aggregate the embedded
    server runs this in SQL, while it tests a regex in Python, document by document. ($toLower changes
    ASCII letters only, hence the needle's other letters are kept as they are.)"""
    needle = "".join(c.lower() if c.isascii() else c for c in text)
    found = [{"$gte": [{"$indexOfCP": [{"$toLower": f"${field}"}, needle]}, 0]} for field in fields]
    found += [{"$eq": [f"${field}", value]} for field, value in (or_equal or {}).items()]
    return {"$expr": {"$or": found}}


async def count(collection, query: dict) -> int:
    """How many documents match. A `$count` stage, not count_documents: the embedded server counts that in
    SQL over its indexes, while count_documents' pipeline (a `$group` on a constant) makes it decode every
    document of the collection in Python, whatever the query (seconds per hundred thousand)."""
    rows = await (await collection.aggregate([{"$match": query}, {"$count": "n"}])).to_list(length=1)
    return rows[0]["n"] if rows else 0


async def find_list(collection, query: dict, sort=None, skip: int = 0, limit: int = 0, projection=None) -> list:
    """Matching documents as a list (`limit` 0: all). A query with `$expr` is asked as an aggregate: the
    embedded server evaluates `$expr` in SQL there, in find() in Python."""
    if "$expr" in query:
        steps = (("$sort", dict(sort or ())), ("$skip", skip), ("$limit", limit), ("$project", projection))
        stages = [{"$match": query}] + [{stage: value} for stage, value in steps if value]
        cursor = await collection.aggregate(stages)
    else:
        cursor = collection.find(query, projection, skip=skip, limit=limit, sort=sort)
    return await cursor.to_list(length=None)


async def find_page(collection, query: dict, sort, skip: int, limit: int, projection=None):
    """One page of documents and the total that matches."""
    return await find_list(collection, query, sort, skip, limit, projection), await count(collection, query)
