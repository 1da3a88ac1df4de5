"""Exporting a filtered selection of logs as CSV or JSON Lines, read in chunks.

The selection is never held whole: about `CHUNK_ROWS` entries are read at a time (Logs.in_chunks), and
each chunk is handed to the writer (which sends and flushes it) before the next is read.
"""
import csv
import datetime
import io

import ujson

from services.errors import ServiceError
from services.logs import check_filters, public_log

CHUNK_ROWS = 500
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
COLUMNS = ("id", "created_at", "time", "type", "username", "token_name", "model_name", "channel", "group",
           "prompt_tokens", "completion_tokens", "quota", "use_time_ms", "is_stream", "request_id", "content")
USER_COLUMNS = tuple(c for c in COLUMNS if c != "channel")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _time_text(created_at) -> str:
    if not isinstance(created_at, (int, float)):
        return ""
    return datetime.datetime.fromtimestamp(created_at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, (dict, list)):
        return ujson.dumps(value, ensure_ascii=False)
    return value


class LogExport:
    def __init__(self, db, chunk_rows: int = CHUNK_ROWS):
        self.db = db
        self.chunk_rows = chunk_rows

    @staticmethod
    def check(filters: dict, fmt: str):
        """Refuse a bad request before anything is sent."""
        if fmt not in FORMATS:
            raise ServiceError("format must be csv or jsonl")
        check_filters(filters)

    async def chunks(self, filters: dict, fmt: str, admin: bool):
        """Bytes of the export, a chunk per about `chunk_rows` entries (CSV starts with its header line)."""
        columns = COLUMNS if admin else USER_COLUMNS
        if fmt == "csv":
            yield self._csv([columns])
        async for chunk in self.db.logs.in_chunks(filters, self.chunk_rows):
            yield self._encode([self._row(public_log(doc, admin), columns, fmt) for doc in chunk], fmt)

    @staticmethod
    def _row(entry: dict, columns, fmt):
        entry["time"] = _time_text(entry.get("created_at"))
        if fmt == "jsonl":
            return entry
        return [_cell(entry.get(c, "")) for c in columns]

    def _encode(self, rows, fmt) -> bytes:
        if fmt == "csv":
            return self._csv(rows)
        return "".join(ujson.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()

    @staticmethod
    def _csv(rows) -> bytes:
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode()
