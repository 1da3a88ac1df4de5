"""Tollgate: an OpenAI-compatible LLM API gateway. Start it with `python server.py`."""
import argparse
import asyncio
import logging
import logging.handlers
import os
import signal
import sys

from tornado.httpserver import HTTPServer

from conf.settings import VERSION, SettingsError, describe, load_settings
from handlers import make_app
from services.embedded_mongo import EmbeddedMongo
from services.runtime import build_services

log = logging.getLogger("tollgate")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="server.py", description="Tollgate, an OpenAI-compatible LLM API gateway.", epilog=describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, help="port to listen on (default 3000, or PORT)")
    parser.add_argument("--log-dir", help="directory for log files (default ./logs, or LOG_DIR)")
    parser.add_argument("--version", action="version", version=f"Tollgate {VERSION}")
    return parser.parse_args(argv)


def setup_logging(log_dir: str, debug: bool):
    os.makedirs(log_dir, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    to_file = logging.handlers.TimedRotatingFileHandler(os.path.join(log_dir, "tollgate.log"), when="midnight",
                                                        backupCount=30, encoding="utf-8")
    to_console = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    for handler in (to_file, to_console):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("pymongo").setLevel(logging.WARNING)


def start_database(settings):
    """The configured MongoDB, or the embedded one (returned so it can be stopped last)."""
    if settings.mongodb_uri:
        return settings.mongodb_uri, None
    embedded = EmbeddedMongo(settings.data_dir).start()
    log.info("embedded database started on port %s (data in %s)", embedded.port, embedded.data_dir)
    return embedded.uri, embedded


async def serve(settings, mongodb_uri):
    services = await build_services(settings, mongodb_uri)
    services.start_sync()
    max_body = settings.max_request_body_mb * 2 * 1024 * 1024
    server = HTTPServer(make_app(services), xheaders=True, max_body_size=max_body)
    server.listen(settings.port)
    log.info("Tollgate %s listening on http://localhost:%s", VERSION, settings.port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("stopping")
    server.stop()
    await services.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings(port=args.port, log_dir=args.log_dir)
    except SettingsError as exc:
        sys.exit(f"Tollgate cannot start: {exc}")
    setup_logging(settings.log_dir, settings.debug)
    mongodb_uri, embedded = start_database(settings)
    try:
        asyncio.run(serve(settings, mongodb_uri))
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
