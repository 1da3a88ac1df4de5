"""The embedded database's process: nx-27017, with each insert command written as one SQLite transaction.

nx-27017 commits every document of an insert on its own: one WAL append of every page the document
touches (the table and each index), which for a batch of log entries with their seven indexes is about
100 µs of CPU per entry, nearly half of what the database spends on it. Commands on one database run one
at a time under nx-27017's own lock, and the transaction is opened inside that lock, so it holds no other
client's writes. Documents refused one by one (a duplicate key) are still refused one by one: SQLite undoes
only the failing statement. Inserts inside a client's own transaction are left as nx-27017 runs them.

Run as `python services/embedded_mongo_main.py <nx-27017 arguments>`; services.embedded_mongo does this.
"""
import functools
import logging
import sys

from nx_27017 import handler as nx_handler
from nx_27017 import nx_27017

log = logging.getLogger("tollgate.embedded_db")


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


def install() -> bool:
    """Patch nx-27017's insert handler; False (and nx-27017 as it is) where its internals have changed."""
    handler_class = nx_handler.NeoSQLiteHandler
    unlocked = getattr(handler_class.handle_insert, "__wrapped__", None)
    if unlocked is None or not hasattr(nx_handler, "_serialize") or not hasattr(nx_handler, "_msg_db_name"):
        log.warning("this nx-27017 is not the one Tollgate knows; inserts are committed per document")
        return False
    handler_class.handle_insert = nx_handler._serialize(one_transaction(unlocked))
    return True


if __name__ == "__main__":
    install()
    sys.exit(nx_27017.main())
