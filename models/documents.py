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


async def find_page(collection, query: dict, sort, skip: int, limit: int, projection=None):
    """One page of documents and the total that matches."""
    cursor = collection.find(query, projection).sort(sort).skip(skip).limit(limit)
    items = await cursor.to_list(length=limit)
    total = await collection.count_documents(query)
    return items, total
