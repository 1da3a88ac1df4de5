"""The embedded database's process: nx-27017, with insert commands made cheaper per document.

- Each insert command is written as one SQLite transaction. nx-27017 commits every document of an insert
  on its own: one WAL append of every page the document touches (the table and each index), which for a
  batch of log entries with their seven indexes is about 100 µs of CPU per entry. Commands on one database
  run one at a time under nx-27017's own lock, and the transaction is opened inside that lock, so it holds
  no other client's writes. Documents refused one by one (a duplicate key) are still refused one by one:
  SQLite undoes only the failing statement. Inserts inside a client's own transaction are left alone.
- The documents of an insert command are not deep-copied. neosqlite copies every document it inserts so
  that its caller's stays as it was; an insert command's documents were decoded from the command and belong
  to it alone, so the copy (about a quarter of the database's CPU per log entry) protects nothing.
- A document of an insert command that is plain JSON with an ObjectId as `_id` (every log entry) is
  written with one JSON encoding, straight from the command, and one INSERT: the row neosqlite would write.
  neosqlite's way first converts the document's ObjectIds, then walks it for bytes, builds an encoder and
  asks SQLite whether the text is valid JSON, which for such a document changes nothing (together with
  ujson's encoding in place of json's, half of the database's Python time per entry). Any other document
  takes neosqlite's way.
- nx-27017 formats the whole command into a debug message on every insert, whether or not debug messages
  are logged; the command's sections now print as their count.
- An insert's reply carries no `insertedIds`: nx-27017 listed every inserted `_id` in it, which MongoDB
  does not do and no driver reads, and converted and encoded them all.
- Documents are converted between the driver's ObjectId and neosqlite's (both ways: every command in,
  every reply out) without a function call per plain value; the result is the same as nx-27017's own
  conversion, which still takes every value that is not a plain string, number, boolean or null.

Run as `python services/embedded_mongo_main.py <nx-27017 arguments>`; services.embedded_mongo does this.
"""
import functools
import logging
import sqlite3
import sys
import threading

import bson
import ujson
from nx_27017 import handler as nx_handler
from nx_27017 import nx_27017
from nx_27017 import utils as nx_utils
from nx_27017 import wire_protocol as nx_wire

try:    # neosqlite's internals (not pinned): where they moved, install() leaves nx-27017 as it ships
    from neosqlite.collection.query_helper import crud_operations as neo_crud
    from neosqlite.objectid import ObjectId as NeoObjectId
    from neosqlite.sql_utils import quote_table_name
except ImportError:
    neo_crud = NeoObjectId = quote_table_name = None

log = logging.getLogger("tollgate.embedded_db")
_thread = threading.local()      # .in_insert_command: this thread runs an insert command


class _Sections(list):
    """A command's sections that print as their count, not as every document they hold."""
    def __repr__(self):
        return f"<{len(self)} sections>"


class _Private(dict):
    """A document's top level, copied; deep-copying it gives itself (nothing else holds it)."""
    def __deepcopy__(self, memo):
        return self


def private_documents(insert):
    """Wrap an insert handler: while it runs, the documents it inserts are not deep-copied."""
    @functools.wraps(insert)
    def wrapper(self, msg):
        msg["sections"] = _Sections(msg["sections"])
        _thread.in_insert_command = True
        try:
            request_id, reply = insert(self, msg)
        finally:
            _thread.in_insert_command = False
        reply.pop("insertedIds", None)
        return request_id, reply
    return wrapper


class _Row(dict):
    """A plain document of an insert command (see `_plain_row`), with the row neosqlite would store for it."""
    __slots__ = ("row",)

    def __init__(self, document: dict, row: tuple):
        super().__init__(document)
        self.row = row


def neo_document(doc):
    """nx-27017's conversion of ObjectIds in a command's document; inside an insert command a plain
    document becomes a `_Row` instead, which needs no conversion."""
    if getattr(_thread, "in_insert_command", False) and type(doc) is dict:
        row = _plain_row(doc)
        if row is not None:
            return _Row(doc, row)
    return to_neo_ids(doc)


def uncopied(internal_insert):
    """Wrap neosqlite's insert of one document: store a `_Row` straight away; inside an insert command hand
    neosqlite a shallow copy of any other document that deep-copies as itself (neosqlite changes only the
    copy's top level), and give the document its new `_id` as neosqlite would."""
    @functools.wraps(internal_insert)
    def wrapper(self, document):
        if type(document) is _Row:
            cursor = self.collection.db.execute(_insert_statement(self.collection.name), document.row)
            if cursor.lastrowid is None:
                raise sqlite3.Error("Failed to get last row id.")
            return document["_id"]
        if not getattr(_thread, "in_insert_command", False) or type(document) is not dict:
            return internal_insert(self, document)
        inserted_id = internal_insert(self, _Private(document))
        document.setdefault("_id", inserted_id)
        return inserted_id
    return wrapper


@functools.lru_cache(maxsize=256)
def _insert_statement(collection_name: str) -> str:
    """neosqlite's INSERT of one row, its table name quoted once per collection, not once per row."""
    return f"INSERT INTO {quote_table_name(collection_name)}(data, _id) VALUES (?, ?)"


# What json.dumps writes, neosqlite's way (ASCII only, ", " and ": "), in a third of the time. Floats
# may be spelled differently (1e-7 for 1e-07), the same number either way. Documents decoded from BSON
# hold no decimal.Decimal, the one type ujson writes and json refuses.
_json_text = functools.partial(ujson.dumps, ensure_ascii=True, escape_forward_slashes=False, allow_nan=False,
                               reject_bytes=True, separators=(", ", ": "))


def _plain_row(document: dict):
    """(JSON text, `_id` text) as neosqlite would store the document, when its `_id` is an ObjectId and all
    else is plain JSON (strings, numbers, booleans, null, lists, objects): what neosqlite does besides
    (converting ObjectIds, walking it for bytes, encoding it with its own encoder class, asking SQLite
    whether the text is valid JSON) changes nothing for such a document. None for anything else (bytes,
    dates, NaN, other ids, ObjectIds below the top): neosqlite's own insert takes those."""
    oid = document.get("_id")
    if type(oid) is not bson.ObjectId:
        return None
    oid_text = str(oid)
    try:
        text = _json_text({**document, "_id": _stored_id(oid_text)})
    except (TypeError, ValueError, OverflowError):
        return None
    return text, oid_text


def _stored_id(hex_text: str) -> dict:
    """An ObjectId as neosqlite writes it into a document's JSON (install() checks it still does)."""
    return {"__neosqlite_objectid__": True, "id": hex_text}


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_neo_ids(doc):
    """nx-27017's convert_bson_to_neo_objectids, with plain values kept without a call each."""
    if type(doc) is not dict:
        return nx_utils.convert_bson_to_neo_objectids(doc)
    return {k: v if type(v) in _PLAIN else to_neo_ids(v) for k, v in doc.items()}


def to_bson_ids(doc):
    """nx-27017's convert_neo_to_bson_objectids (which also makes an `id` of 0 an Int64), with plain values
    kept without a call each."""
    if type(doc) is not dict:
        return nx_utils.convert_neo_to_bson_objectids(doc)
    converted = {}
    for key, value in doc.items():
        if type(value) in _PLAIN and key != "id":
            converted[key] = value
        elif type(value) is dict:
            converted[key] = to_bson_ids(value)
        else:
            converted[key] = nx_utils.convert_neo_to_bson_objectids({key: value})[key]
    return converted


def one_transaction(insert):
    """Wrap an insert handler (the unlocked one) so its documents are committed together."""
    @functools.wraps(insert)
    def wrapper(self, msg):
        db = _connection(self, msg)
        if db is None or db.in_transaction or _in_client_transaction(msg):
            return insert(self, msg)
        db.execute("BEGIN")
        try:
            result = insert(self, msg)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if db.in_transaction:       # nx-27017 commits some writes itself (GridFS)
            try:
                db.execute("COMMIT")
            except Exception:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return result
    return wrapper


def _connection(handler, msg):
    """The SQLite connection of the message's database, or None where nx-27017 would refuse the name."""
    try:
        return handler.get_database(nx_handler._msg_db_name(msg)).db
    except Exception:
        return None


def _in_client_transaction(msg) -> bool:
    return any(kind == "body" and isinstance(doc, dict) and "autocommit" in doc for kind, doc in msg["sections"])


def _ids_stored_as_known() -> bool:
    probe = NeoObjectId()
    return probe.encode_for_storage() == _stored_id(str(probe)) and str(probe) == probe.hex


def install() -> bool:
    """Patch nx-27017's insert handler; False (and nx-27017 as it is) where its internals have changed."""
    handler_class, neo_helper = nx_handler.NeoSQLiteHandler, getattr(neo_crud, "CRUDOperationsMixin", None)
    if getattr(handler_class.handle_insert, "tollgate", False):
        return True     # installed already
    unlocked = getattr(handler_class.handle_insert, "__wrapped__", None)
    if (unlocked is None or not hasattr(nx_handler, "_serialize") or not hasattr(nx_handler, "_msg_db_name")
            or not hasattr(neo_helper, "_internal_insert") or quote_table_name is None
            or not hasattr(handler_class, "_convert_objectids") or not hasattr(nx_wire, "_convert_objectids")
            or not hasattr(nx_utils, "convert_bson_to_neo_objectids")
            or not hasattr(nx_utils, "convert_neo_to_bson_objectids") or not _ids_stored_as_known()):
        log.warning("this nx-27017 is not the one Tollgate knows; inserts run as nx-27017 has them")
        return False
    handler_class.handle_insert = nx_handler._serialize(private_documents(one_transaction(unlocked)))
    handler_class.handle_insert.tollgate = True
    neo_helper._internal_insert = uncopied(neo_helper._internal_insert)
    handler_class._convert_objectids = lambda self, doc: neo_document(doc)
    nx_wire._convert_objectids = to_bson_ids
    return True


if __name__ == "__main__":
    install()
    sys.exit(nx_27017.main())
