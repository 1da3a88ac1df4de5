"""Exporting the request log to CSV and JSON lines, streamed from MongoDB in batches."""
import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tools.export_logs import export, timestamp

START = 1_700_000_000      # 2023-11-14T22:13:20Z
COUNT = 3000


async def add_logs(db):
    await db.logs.insert_many([
        {"type": 2 if i % 3 else 1, "created_at": START + 60 * i, "user_id": 1 + i % 4,
         "username": f"user{1 + i % 4}", "token_name": "t", "model_name": "gpt-4o-mini", "channel_id": 1,
         "quota": i, "prompt_tokens": 10, "completion_tokens": 5, "is_stream": False, "request_id": f"r{i}",
         "content": f'call {i}, "quoted"\nsecond line'}
        for i in range(COUNT)
    ])


@pytest.mark.gen_test(timeout=60)
async def test_csv_export_between_two_moments(gateway):
    db = gateway.services.db
    await add_logs(db)
    out = io.StringIO()

    count = await export(db, out, "csv", since=START + 60 * 500, until=START + 60 * 2500, batch_size=300)

    assert count == 2000
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 2000
    assert [int(r["quota"]) for r in rows] == list(range(500, 2500))       # oldest first, nothing skipped
    assert rows[0]["content"] == 'call 500, "quoted"\nsecond line'          # quoting survives a round trip
    assert rows[0]["time"] == "2023-11-15T06:33:20+00:00"


@pytest.mark.gen_test(timeout=60)
async def test_jsonl_export_from_the_command_line(gateway, mongo_uri, tmp_path):
    db = gateway.services.db
    await add_logs(db)
    output = tmp_path / "logs.jsonl"
    env = {**os.environ, "MONGODB_URI": mongo_uri, "MONGODB_DB": db.logs.collection.database.name,
           "DATA_DIR": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-m", "tools.export_logs", "--since", "2023-11-14T22:13:20", "--until", str(START + 60 * 1200),
         "--format", "jsonl", "--type", "2", "--username", "user2", "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in output.read_text().splitlines()]
    expected = [i for i in range(1200) if i % 3 and 1 + i % 4 == 2]
    assert [e["quota"] for e in entries] == expected
    assert f"exported {len(expected)} log entries" in result.stderr
    assert all(e["username"] == "user2" and e["type"] == 2 and isinstance(e["id"], str) for e in entries)


def test_times_are_read_as_unix_or_iso():
    assert timestamp("1700000000") == START
    assert timestamp("2023-11-14T22:13:20") == START
    assert timestamp("2023-11-15T06:13:20+08:00") == START
    assert timestamp("2023-11-15") == START + 6400
