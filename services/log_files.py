"""Where Tollgate's log lines go: `tollgate.log` (everything but the access lines) and standard error, and
`access.log` with one line per HTTP request. Both files are rotated at midnight and kept 30 days.

Access lines are the many: they skip the logging machinery, collect in memory and are written together
once a second (`ACCESS.flush`, called by the server), when many are waiting, and when the process
stops. One write per batch also keeps lines whole when several worker processes append to the file.
Without a file (tests, tools) or with DEBUG they go to the `tollgate.access` logger.
"""
import logging
import logging.handlers
import os
import sys
import time

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"
KEEP_DAYS = 30
MAX_BATCH = 5000     # access lines held before they are written anyway


def _daily(path, cls=logging.handlers.TimedRotatingFileHandler):
    return cls(path, when="midnight", backupCount=KEEP_DAYS, encoding="utf-8")


class _RotatingLines(logging.handlers.TimedRotatingFileHandler):
    """A daily-rotated file written a batch of ready lines at a time (the handler's rotation, not its
    per-record emit)."""

    def write_lines(self, lines):
        if self.shouldRollover(None):
            self.doRollover()
        if self.stream is None:
            self.stream = self._open()
        self.stream.write("".join(lines))
        self.stream.flush()


class AccessLog:
    def __init__(self):
        self.file = None
        self.echo = True            # also through the logging module
        self._lines = []
        self._second, self._prefix = 0, ""
        self._tail = ""
        os.register_at_fork(after_in_child=self._name_process)

    def open(self, path: str, echo: bool):
        self.file = _daily(path, _RotatingLines)
        self.echo = echo
        self._name_process()

    def _name_process(self):
        """Lines carry the id of the process that served them (workers are forked after `open`)."""
        self._lines = []
        self._tail = f" [{os.getpid()}] tollgate.access "

    def write(self, error: bool, text: str):
        if self.file is not None:
            level = "ERROR" if error else "INFO"
            self._lines.append(f"{self._stamp()} {level}{self._tail}{text}\n")
            if len(self._lines) >= MAX_BATCH:
                self.flush()
        if self.echo:
            logging.getLogger("tollgate.access").log(logging.ERROR if error else logging.INFO, text)

    def flush(self):
        if self._lines and self.file is not None:
            lines, self._lines = self._lines, []
            self.file.write_lines(lines)

    def _stamp(self) -> str:
        """The time as the log formatter writes it; the date part is made once a second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._prefix = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._prefix},{int((now - second) * 1000):03d}"


ACCESS = AccessLog()


def setup_logging(log_dir: str, debug: bool):
    os.makedirs(log_dir, exist_ok=True)
    formatter = logging.Formatter(FORMAT)
    root = logging.getLogger()
    for handler in (_daily(os.path.join(log_dir, "tollgate.log")), logging.StreamHandler(sys.stderr)):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    ACCESS.open(os.path.join(log_dir, "access.log"), echo=debug)
