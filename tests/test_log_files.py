"""access.log: lines written in batches, whole, and rotated like the other log file."""
import os
import re

from services.log_files import AccessLog


def test_access_lines_are_written_at_flush_and_rotated(tmp_path):
    access = AccessLog()
    access.open(str(tmp_path / "access.log"), echo=False)
    access.write(False, "200 GET /a 127.0.0.1 1.0ms id=1")
    access.write(True, "502 POST /b 127.0.0.1 2.0ms id=2")
    assert (tmp_path / "access.log").read_text() == ""        # held until the flush
    access.flush()
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert [re.sub(r"^\S+ \S+ ", "", line) for line in lines] == [
        f"INFO [{os.getpid()}] tollgate.access 200 GET /a 127.0.0.1 1.0ms id=1",
        f"ERROR [{os.getpid()}] tollgate.access 502 POST /b 127.0.0.1 2.0ms id=2"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", lines[0])

    access.file.rolloverAt = 0          # midnight has passed
    access.write(False, "200 GET /c 127.0.0.1 1.0ms id=3")
    access.flush()
    rotated = [p for p in os.listdir(tmp_path) if p.startswith("access.log.")]
    assert len(rotated) == 1 and len((tmp_path / rotated[0]).read_text().splitlines()) == 2
    assert (tmp_path / "access.log").read_text().endswith("id=3\n")
    access.file.close()
