"""Export the request log: `python -m tools.export_logs --since 2025-01-01 --until 2025-02-01 --format csv`.

Entries are streamed from MongoDB oldest first and written as they arrive (CSV with a header row, or one
JSON object per line), to --output or standard output. Reads MONGODB_URI, or the embedded database under
DATA_DIR when Tollgate is stopped.
"""
import argparse
import asyncio
import csv
import datetime
import sys

import ujson

from conf.settings import SettingsError, load_settings
from models.db import connect, pool_options
from services.embedded_mongo import EmbeddedMongo

CSV_COLUMNS = ("id", "created_at", "time", "type", "user_id", "username", "token_id", "token_name", "model_name",
               "channel_id", "quota", "prompt_tokens", "completion_tokens", "use_time_ms", "is_stream", "group",
               "ip", "request_id", "content")


def timestamp(text: str) -> int:
    """Unix seconds, or an ISO date / date-time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date, date-time or unix time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def plain(doc: dict) -> dict:
    entry = dict(doc)
    entry["id"] = str(entry.pop("_id"))
    entry["time"] = datetime.datetime.fromtimestamp(entry.get("created_at", 0), datetime.timezone.utc).isoformat()
    return entry


class CsvWriter:
    def __init__(self, out):
        self.writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        self.writer.writeheader()

    def write(self, entry):
        self.writer.writerow(entry)


class JsonLinesWriter:
    def __init__(self, out):
        self.out = out

    def write(self, entry):
        self.out.write(ujson.dumps(entry, ensure_ascii=False, escape_forward_slashes=False) + "\n")


WRITERS = {"csv": CsvWriter, "jsonl": JsonLinesWriter}


async def export(db, out, fmt: str, since: int = 0, until: int = 0, batch_size: int = 1000, **filters) -> int:
    """Write every entry with since <= created_at < until (either bound optional); returns how many."""
    query = {**filters, "start_timestamp": since, "end_timestamp": until - 1 if until else 0}
    writer = WRITERS[fmt](out)
    count = 0
    async for chunk in db.logs.in_chunks(query, batch_size, newest_first=False):
        for doc in chunk:
            writer.write(plain(doc))
        count += len(chunk)
    return count


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.export_logs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--since", type=timestamp, default=0, help="first moment included (date, date-time or unix)")
    parser.add_argument("--until", type=timestamp, default=0, help="first moment excluded (date, date-time or unix)")
    parser.add_argument("--format", choices=sorted(WRITERS), default="csv")
    parser.add_argument("--output", help="file to write (default: standard output)")
    parser.add_argument("--type", type=int, default=0, help="only this log type (2 = consumption)")
    parser.add_argument("--username", default="", help="only this user's entries")
    return parser.parse_args(argv)


async def _run(args, settings, mongodb_uri, out) -> int:
    db = connect(mongodb_uri, settings.mongodb_db, **pool_options(settings))
    try:
        return await export(db, out, args.format, args.since, args.until, type=args.type, username=args.username)
    finally:
        await db.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"cannot export: {exc}")
    embedded = None if settings.mongodb_uri else EmbeddedMongo(settings.data_dir).start()
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        count = asyncio.run(_run(args, settings, settings.mongodb_uri or embedded.uri, out))
    finally:
        if args.output:
            out.close()
        if embedded:
            embedded.stop()
    print(f"exported {count} log entries", file=sys.stderr)


if __name__ == "__main__":
    main()
