"""The embedded database's insert handling: one SQLite transaction per insert command, refusals per document."""
from bson import ObjectId
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
