"""The embedded database's insert handling: one SQLite transaction per insert command, refusals per document,
no deep copy of the command's documents, a debug message that does not print them, a reply without the
inserted ids, and ObjectIds converted as nx-27017 converts them."""
import collections
import datetime
import decimal
import logging

from bson import BSON, Code, Decimal128, Int64, ObjectId
from bson.son import SON
from neosqlite.objectid import ObjectId as NeoObjectId
from nx_27017 import utils as nx_utils
from nx_27017 import wire_protocol as nx_wire
from nx_27017.handler import NeoSQLiteHandler

from services import embedded_mongo_main

assert embedded_mongo_main.install(), "the installed nx-27017 no longer has the insert handler Tollgate wraps"


def _statements(handler, db_name):
    """The transaction statements and inserts run on `db_name`'s connection from now on."""
    seen = []

    def note(sql):
        verb = sql.split()[0].upper()
        if verb in ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "INSERT"):
            seen.append(verb)
    handler.get_database(db_name).db.set_trace_callback(note)
    return seen


def _insert(handler, body):
    return handler.handle_insert({"request_id": 1, "sections": [("body", body)]})[1]


def test_the_documents_of_one_insert_are_committed_together(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"warm": 1}]})   # creates the table
    seen = _statements(handler, "t")
    reply = _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"n": i} for i in range(50)]})
    assert reply["n"] == 50
    assert [s for s in seen if s != "INSERT"] == ["BEGIN", "COMMIT"]
    assert seen.count("INSERT") == 50
    assert not handler.get_database("t").db.in_transaction


def test_a_refused_document_is_refused_alone_and_the_others_are_kept(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    taken = ObjectId()
    _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"_id": taken, "n": 0}]})
    reply = _insert(handler, {"insert": "logs", "$db": "t", "ordered": False,
                              "documents": [{"n": 1}, {"_id": taken, "n": 2}, {"n": 3}]})
    assert reply["n"] == 2 and len(reply["writeErrors"]) == 1 and reply["writeErrors"][0]["index"] == 1
    stored = sorted(doc["n"] for doc in handler.get_database("t")["logs"].find({}))
    assert stored == [0, 1, 3]


def test_inserts_inside_a_client_transaction_are_left_to_it(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"warm": 1}]})
    db = handler.get_database("t").db
    db.execute("BEGIN")      # as a client's transaction holds the connection
    seen = _statements(handler, "t")
    _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"n": 1}, {"n": 2}]})
    assert "BEGIN" not in seen and "COMMIT" not in seen and db.in_transaction
    db.execute("ROLLBACK")


def _deep_copies(monkeypatch):
    """(value, copy) for each object copy.deepcopy is asked to copy from now on (neosqlite imports it at each
    call)."""
    import copy
    asked, real = [], copy.deepcopy

    def noting(value, memo=None):
        copied = real(value, memo)
        asked.append((value, copied))
        return copied
    monkeypatch.setattr(copy, "deepcopy", noting)
    return asked


def test_an_insert_commands_documents_are_stored_whole_without_a_deep_copy(tmp_path, monkeypatch):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"warm": 1}]})
    asked = _deep_copies(monkeypatch)
    given = ObjectId()
    documents = [{"_id": given, "n": 1, "other": {"ratio": 1.5, "tags": ["a", {"b": 2}]}, "raw": b"\x00\x01"},
                 {"n": 2, "other": {}}]
    reply = _insert(handler, {"insert": "logs", "$db": "t", "documents": documents})
    # neosqlite still asks for a copy of each document, and is given the document itself
    assert reply["n"] == 2 and len(asked) == 2 and all(copied is value for value, copied in asked)
    stored = {doc["n"]: doc for doc in handler.get_database("t")["logs"].find({"n": {"$in": [1, 2]}})}
    assert str(stored[1]["_id"]) == str(given)
    assert stored[1]["other"] == {"ratio": 1.5, "tags": ["a", {"b": 2}]} and bytes(stored[1]["raw"]) == b"\x00\x01"
    assert stored[2]["_id"] and stored[2]["other"] == {}


def test_a_document_inserted_outside_an_insert_command_is_still_copied(tmp_path, monkeypatch):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    asked = _deep_copies(monkeypatch)
    mine = {"n": 1, "other": {"k": 1}}
    handler.get_database("t")["logs"].insert_one(mine)
    [(value, copied)] = asked                   # neosqlite's deep copy, as for any caller
    assert value is mine and copied is not mine
    assert copied["other"] == {"k": 1} and copied["other"] is not mine["other"]
    assert set(mine) == {"n", "other", "_id"}


def test_the_insert_debug_message_does_not_format_the_documents(tmp_path, caplog):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger="nx_27017"):
        _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"note": "needle-in-the-log"}]})
    message = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("handle_insert sections"))
    assert "needle-in-the-log" not in message and "1 sections" in message


def _stored_text(handler, db_name, oid) -> str:
    """The JSON text the row of `oid` holds, with its own id written as ID."""
    db = handler.get_database(db_name).db
    [(text,)] = db.execute("SELECT data FROM logs WHERE _id = ?", (str(oid),)).fetchall()
    return text.replace(str(oid), "ID")


def test_a_plain_document_is_stored_as_neosqlite_stores_it_without_its_checks(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    plain = {"type": 2, "quota": 3, "ratio": 1.5, "is_stream": False, "group": None, "content": "模型 \"ok\"\n",
             "other": {"frt": -1, "tags": ["a", {"b": [1, 2.25]}]}}
    by_neosqlite = NeoObjectId()
    handler.get_database("t")["logs"].insert_one({"_id": by_neosqlite, **plain})     # neosqlite's own way
    statements = []
    handler.get_database("t").db.set_trace_callback(statements.append)
    fast = ObjectId()
    reply = _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"_id": fast, **plain}]})
    assert reply["n"] == 1
    assert _stored_text(handler, "t", fast) == _stored_text(handler, "t", by_neosqlite)
    # one INSERT, and no json_valid round first: json.dumps made the text, so it is valid JSON
    assert sum(s.startswith("INSERT") for s in statements) == 1 and not any("json_valid" in s for s in statements)
    found = list(handler.get_database("t")["logs"].find({"other.frt": -1, "quota": 3}))
    assert len(found) == 2 and {str(f["_id"]) for f in found} == {str(fast), str(by_neosqlite)}
    assert all(f["content"] == plain["content"] and f["other"] == plain["other"] for f in found)


def test_a_plain_document_reads_back_as_from_neosqlites_own_insert(tmp_path, monkeypatch):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    plain = {"small": 1e-07, "large": 1e16, "negative_zero": -0.0, "tiny": 5e-324, "big": Int64(2 ** 40),
             "text": "a/b \\ \u2028 \x00 é 模型", "code": Code("return 1"), "list": [1, [2.5, {"x": None}]]}
    by_neosqlite = NeoObjectId()
    handler.get_database("t")["logs"].insert_one({"_id": by_neosqlite, **plain})
    conversions = []
    monkeypatch.setattr(embedded_mongo_main, "to_neo_ids", conversions.append)
    fast = ObjectId()
    assert _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"_id": fast, **plain}]})["n"] == 1
    assert conversions == []        # written straight from the command
    found = {str(doc.pop("_id")): doc for doc in handler.get_database("t")["logs"].find({})}
    assert _exact(found[str(fast)]) == _exact(found[str(by_neosqlite)])


def test_an_objectid_below_the_top_takes_neosqlites_own_insert(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    inner = ObjectId()
    assert _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"_id": ObjectId(), "ref": inner}]})["n"] == 1
    [found] = handler.get_database("t")["logs"].find({})
    assert type(found["ref"]) is NeoObjectId and str(found["ref"]) == str(inner)


def test_the_fast_insert_is_left_out_where_neosqlite_stores_ids_otherwise(monkeypatch):
    assert embedded_mongo_main._ids_stored_as_known()
    monkeypatch.setattr(NeoObjectId, "encode_for_storage", lambda self: {"$oid": self.hex})
    assert not embedded_mongo_main._ids_stored_as_known()


def test_documents_that_are_not_plain_json_take_neosqlites_own_insert(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"warm": 1}]})
    dated, nan = ObjectId(), ObjectId()
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    reply = _insert(handler, {"insert": "logs", "$db": "t", "ordered": False,
                              "documents": [{"_id": dated, "at": moment}, {"_id": nan, "x": float("nan")}]})
    assert reply["n"] == 1 and len(reply["writeErrors"]) == 1 and reply["writeErrors"][0]["index"] == 1
    [found] = handler.get_database("t")["logs"].find({"at": {"$exists": True}})
    assert str(found["_id"]) == str(dated) and found["at"].replace(tzinfo=datetime.timezone.utc) == moment


def test_an_insert_reply_carries_no_inserted_ids_as_mongodbs_does_not(tmp_path):
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    taken = ObjectId()
    assert _insert(handler, {"insert": "logs", "$db": "t", "documents": [{"_id": taken}, {"n": 1}]}) == {"ok": 1, "n": 2}
    reply = _insert(handler, {"insert": "logs", "$db": "t", "ordered": False,
                              "documents": [{"_id": taken}, {"n": 2}]})
    assert set(reply) == {"ok", "n", "writeErrors"} and reply["n"] == 1


def _exact(value):
    """`value` with the type of everything in it spelled out, ObjectIds of either kind by class and hex."""
    if isinstance(value, dict):
        return (type(value).__name__, [(k, _exact(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_exact(v) for v in value])
    if isinstance(value, (ObjectId, NeoObjectId)):
        return (type(value).__name__, str(value))
    return (type(value).__name__, repr(value))


def _varied(oid_class):
    oid = oid_class()
    return {
        "_id": oid, "id": 0, "n": 5, "flag": True, "none": None, "ratio": 1.5, "text": "模型", "raw": b"\x00",
        "at": datetime.datetime(2026, 1, 2), "price": decimal.Decimal("1.10"), "d128": Decimal128("2.5"),
        "big": Int64(7), "tuple": (1, oid),
        "nested": {"id": 0, "ids": [oid, {"id": 0, "deep": oid}], "zero": {"id": False}, "empty": {}},
        "son": SON([("a", oid), ("id", 0)]), "ordered": collections.OrderedDict(b=[oid]),
        "list": [1, "a", None, [oid, {"x": decimal.Decimal("3")}]],
    }


def test_objectids_are_converted_exactly_as_nx_27017_converts_them():
    for doc in (_varied(ObjectId), _varied(NeoObjectId), {}, {"id": 0.0}, {"id": 1}):
        assert _exact(embedded_mongo_main.to_neo_ids(doc)) == _exact(nx_utils.convert_bson_to_neo_objectids(doc))
        assert _exact(embedded_mongo_main.to_bson_ids(doc)) == _exact(nx_utils.convert_neo_to_bson_objectids(doc))
    for other in ([_varied(ObjectId)], ObjectId(), NeoObjectId(), decimal.Decimal("1"), "text", None):
        assert _exact(embedded_mongo_main.to_neo_ids(other)) == _exact(nx_utils.convert_bson_to_neo_objectids(other))
        assert _exact(embedded_mongo_main.to_bson_ids(other)) == _exact(nx_utils.convert_neo_to_bson_objectids(other))


def test_the_faster_conversions_are_the_ones_commands_and_replies_use(tmp_path):
    assert nx_wire._convert_objectids is embedded_mongo_main.to_bson_ids
    handler = NeoSQLiteHandler(data_dir=str(tmp_path))
    oid = ObjectId()
    converted = handler._convert_objectids({"_id": oid, "n": 1})
    assert type(converted["_id"]) is NeoObjectId and str(converted["_id"]) == str(oid)
    # a reply's bytes decode to the same document as with nx-27017's own conversion
    document = {"cursor": {"id": 0, "firstBatch": [{"_id": NeoObjectId(), "price": decimal.Decimal("1.10")}]}, "ok": 1}
    reply = nx_wire.ResponseBuilder.build_op_msg_reply(1, 2, document)
    expected = BSON.encode(nx_utils.convert_neo_to_bson_objectids(document))
    assert reply.endswith(expected)
