"""Tollgate: an OpenAI-compatible LLM API gateway. Start it with `python server.py`."""
import argparse
import asyncio
import ctypes
import gc
import logging
import os
import signal
import socket
import sys

import uvloop
from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets

from conf.settings import VERSION, SettingsError, describe, load_settings
from handlers import make_app
from services.embedded_mongo import EmbeddedMongo
from services.event_loop import ParkingMainLoop
from services.log_files import ACCESS, setup_logging
from services.runtime import build_services

log = logging.getLogger("tollgate")
GC_THRESHOLDS = (20000, 50, 50)    # Python's defaults are (700, 10, 10)
M_MMAP_THRESHOLD = -3              # mallopt(3)
MMAP_FROM_BYTES = 32 * 1024
READ_CHUNK = 16 * 1024             # bytes read from a client connection at a time (Tornado's default: 64 KiB)
# Connections the kernel holds until a worker accepts them (Tornado's default: 128). Thousands of clients
# connecting at once overflow a short queue, and each refused attempt is retried by the client a second,
# then 3, 7, 15 s later. The kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 4096


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="server.py", description="Tollgate, an OpenAI-compatible LLM API gateway.", epilog=describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, help="port to listen on (default 3000, or PORT)")
    parser.add_argument("--log-dir", help="directory for log files (default ./logs, or LOG_DIR)")
    parser.add_argument("--workers", type=int, help="processes serving the port (default 1, or WORKERS)")
    parser.add_argument("--version", action="version", version=f"Tollgate {VERSION}")
    return parser.parse_args(argv)


def notify_systemd(state: str):
    """Tell systemd (Type=notify) about start-up and stopping: one datagram to $NOTIFY_SOCKET, if set."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]          # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("could not notify systemd: %s", exc)


def start_database(settings):
    """The configured MongoDB, or the embedded one (returned so it can be stopped last)."""
    if settings.mongodb_uri:
        return settings.mongodb_uri, None
    embedded = EmbeddedMongo(settings.data_dir).start()
    log.info("embedded database started on port %s (data in %s)", embedded.port, embedded.data_dir)
    return embedded.uri, embedded


async def serve(settings, mongodb_uri, sockets, notify=True, metrics_peers=()):
    """Serve until SIGTERM/SIGINT, then stop accepting, let open calls finish and settle, and close.
    `metrics_peers`: the private loopback ports of the other workers, asked for their metrics."""
    ParkingMainLoop()      # Tornado's IOLoop on this loop, made before anything asks for one
    services = await build_services(settings, mongodb_uri)
    services.start_sync()
    tune_memory()
    PeriodicCallback(ACCESS.flush, 1000).start()
    max_body = settings.max_request_body_mb * 2 * 1024 * 1024
    server = HTTPServer(make_app(services, metrics_peers=list(metrics_peers)), max_body_size=max_body,
                        chunk_size=READ_CHUNK)
    server.add_sockets(sockets)
    log.info("Tollgate %s listening on http://localhost:%s (pid %s)", VERSION, settings.port, os.getpid())
    if notify:
        notify_systemd(f"READY=1\nSTATUS=listening on port {settings.port}\nMAINPID={os.getpid()}")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    if notify:
        notify_systemd("STOPPING=1")
    log.info("stopping: %d calls in flight", len(services.inflight))
    server.stop()
    await services.inflight.drain(settings.shutdown_grace_seconds)
    await server.close_all_connections()
    await services.close()
    log.info("stopped")
    ACCESS.flush()


def tune_memory():
    """Memory settings for a server that holds thousands of connections.

    Python's cyclic garbage collector: what exists after start-up (drivers, tokenizer, caches) is frozen out
    of every collection, and young collections run far less often (most of a request's objects are freed
    by reference counting before one runs); this took the time spent collecting under load from about 9 %
    to about 2 %.

    glibc's allocator: libcurl gives each upstream connection a 64 KiB receive buffer, zeroed, which glibc
    takes from the heap, so each open stream kept all of it resident. From 32 KiB up, glibc maps fresh pages
    instead, of which a stream touches only the few it uses (about 60 → 20 KiB per stream). Client
    connections read READ_CHUNK at a time, below that size, so requests do not pay for it."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, MMAP_FROM_BYTES)
    except (OSError, AttributeError):
        log.info("not on glibc: the allocator keeps its own settings")


def run_loop(main):
    """Run on uvloop: Tornado works unchanged on it, and its event loop (in C) costs less per request."""
    return uvloop.run(main)


def worker_sockets(port: int, workers: int) -> list:
    """One listening socket (set) per worker, all on `port` with SO_REUSEPORT: the kernel spreads new
    connections evenly over them. On one shared socket, whichever worker wakes first accepts every
    connection waiting, so a burst of connections (a client opening its pool) can all land on one."""
    return [bind_sockets(port, reuse_port=True, backlog=LISTEN_BACKLOG) for _ in range(workers)]


def run_workers(settings, mongodb_uri, socket_sets):
    """Fork one process per worker, each on its own sockets; pass SIGTERM/SIGINT on and wait for them.
    Each worker also gets a private loopback port, where the others ask for its metrics."""
    children = set()
    private = [bind_sockets(0, "127.0.0.1") for _ in socket_sets]
    ports = [sockets[0].getsockname()[1] for sockets in private]
    for index, own in enumerate(socket_sets):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for other in socket_sets + private:
                    if other is not own and other is not private[index]:
                        close_all(other)     # a worker that dies takes only its own socket with it
                peers = ports[:index] + ports[index + 1:]
                run_loop(serve(settings, mongodb_uri, own + private[index], notify=False, metrics_peers=peers))
            except BaseException:
                log.exception("worker %s failed", os.getpid())
                code = 1
            finally:
                os._exit(code)   # never run the parent's clean-up (it owns the embedded database)
        children.add(pid)
    for sockets in socket_sets + private:
        close_all(sockets)
    # The port is bound before the fork, so connections queue until the workers take them.
    notify_systemd(f"READY=1\nSTATUS={settings.workers} workers on port {settings.port}\nMAINPID={os.getpid()}")

    def forward(signum, _):
        notify_systemd("STOPPING=1")
        for child in children:
            os.kill(child, signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    failed = False
    while children:
        pid, status = os.wait()
        children.discard(pid)
        failed = failed or os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


def close_all(sockets):
    for sock in sockets:
        sock.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings(port=args.port, log_dir=args.log_dir, workers=args.workers)
    except SettingsError as exc:
        sys.exit(f"Tollgate cannot start: {exc}")
    setup_logging(settings.log_dir, settings.debug)
    mongodb_uri, embedded = start_database(settings)
    code = 0
    try:
        if settings.workers == 1:
            run_loop(serve(settings, mongodb_uri, bind_sockets(settings.port, backlog=LISTEN_BACKLOG)))
        else:
            code = run_workers(settings, mongodb_uri, worker_sockets(settings.port, settings.workers))
    finally:
        if embedded:
            embedded.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
