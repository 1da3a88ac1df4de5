"""Reading a One API / New API database: a SQLite file, or MySQL / MariaDB through a DSN.

Rows come back as plain dicts keyed by column name, in batches, ordered by primary key, so tables of
any size stream through without being held in memory.
"""
import os
import re
import sqlite3
import urllib.parse

import pymysql
import pymysql.cursors

BATCH = 1000
# One API's own form of SQL_DSN: user:password@tcp(host:port)/database?params
_GO_DSN = re.compile(r"^(?P<user>[^:@/]*)(?::(?P<password>[^@]*))?@tcp\((?P<host>[^:)]+)(?::(?P<port>\d+))?\)"
                     r"/(?P<database>[^?]+)")


class SourceError(Exception):
    pass


def mysql_params(dsn: str) -> dict:
    """Connection parameters from `mysql://user:pass@host:port/db` or One API's `user:pass@tcp(host:port)/db`."""
    if dsn.startswith(("mysql://", "mariadb://")):
        url = urllib.parse.urlsplit(dsn)
        params = {"user": urllib.parse.unquote(url.username or "root"),
                  "password": urllib.parse.unquote(url.password or ""),
                  "host": url.hostname or "127.0.0.1", "port": url.port or 3306,
                  "database": url.path.lstrip("/")}
    else:
        match = _GO_DSN.match(dsn)
        if not match:
            raise SourceError(f"not a MySQL DSN: {dsn!r}")
        params = {"user": match["user"] or "root", "password": match["password"] or "", "host": match["host"],
                  "port": int(match["port"] or 3306), "database": match["database"]}
    if not params["database"]:
        raise SourceError("the DSN names no database")
    return params


def open_source(location: str):
    """A SQLite file path, or a MySQL DSN."""
    if location.startswith(("mysql://", "mariadb://")) or "@tcp(" in location:
        return MySQLSource(mysql_params(location))
    if location.startswith(("postgres://", "postgresql://")):
        raise SourceError("PostgreSQL databases are not supported; export them to SQLite or MySQL first")
    if not os.path.isfile(location):
        raise SourceError(f"no such SQLite file: {location}")
    return SQLiteSource(location)


class SQLiteSource:
    quote = '"'

    def __init__(self, path: str):
        # Read-only: the importer never changes the database it reads.
        self.connection = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True)
        self.connection.row_factory = sqlite3.Row
        self.name = path

    def tables(self) -> set:
        rows = self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def columns(self, table: str) -> set:
        return {r[1] for r in self.connection.execute(f'PRAGMA table_info("{table}")')}

    def _query(self, sql: str, args=()):
        return [dict(r) for r in self.connection.execute(sql, args)]

    def close(self):
        self.connection.close()


class MySQLSource:
    quote = "`"

    def __init__(self, params: dict):
        try:
            self.connection = pymysql.connect(**params, charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor,
                                              connect_timeout=10)
        except pymysql.err.MySQLError as exc:
            raise SourceError(f"cannot connect to MySQL at {params['host']}:{params['port']}: {exc}") from None
        self.name = f"mysql {params['host']}:{params['port']}/{params['database']}"

    def tables(self) -> set:
        return {next(iter(r.values())) for r in self._query("SHOW TABLES")}

    def columns(self, table: str) -> set:
        return {r["Field"] for r in self._query(f"SHOW COLUMNS FROM `{table}`")}

    def _query(self, sql: str, args=()):
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), args)
            return list(cursor.fetchall())

    def close(self):
        self.connection.close()


def batches(source, table: str, key: str = "id", size: int = BATCH):
    """Every row of `table` in batches of `size`, by ascending `key` (keyset paging: no OFFSET scans)."""
    q = source.quote
    last = None
    while True:
        if last is None:
            sql, args = f"SELECT * FROM {q}{table}{q} ORDER BY {q}{key}{q} LIMIT {size}", ()
        else:
            sql, args = f"SELECT * FROM {q}{table}{q} WHERE {q}{key}{q} > ? ORDER BY {q}{key}{q} LIMIT {size}", (last,)
        rows = source._query(sql, args)
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        last = rows[-1][key]
