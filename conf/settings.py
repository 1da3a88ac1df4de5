"""Every setting Tollgate reads, declared once with its default and meaning.

Values come from the environment (the names One API operators already use) and, for a few,
from command-line flags. `load_settings()` validates them all at start-up and returns a frozen
object; request code never reads `os.environ`.
"""
import dataclasses
import os
from typing import Any, Callable

from services.client_address import parse_networks

VERSION = "0.1.0"


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str          # attribute name; the environment variable is its upper-case form
    default: Any
    parse: Callable[[str], Any]
    help: str


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be greater than zero")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _node_type(text: str) -> str:
    if text not in ("master", "slave"):
        raise ValueError("must be master or slave")
    return text


def _mongodb_dsn(text: str) -> str:
    if text and not text.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError("Tollgate keeps its data in MongoDB, so only a mongodb:// URI is accepted here; "
                         "bring a One API database over with `python -m tools.import_oneapi`")
    return text


def _networks(text: str) -> str:
    parse_networks(text)   # raises ValueError on anything that is not an address or a range
    return text


GEMINI_THRESHOLDS = ("BLOCK_NONE", "OFF", "BLOCK_ONLY_HIGH", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_LOW_AND_ABOVE",
                     "HARM_BLOCK_THRESHOLD_UNSPECIFIED")


def _gemini_threshold(text: str) -> str:
    value = text.strip().upper()
    if value not in GEMINI_THRESHOLDS:
        raise ValueError("must be one of " + ", ".join(GEMINI_THRESHOLDS))
    return value


SETTINGS = [
    Setting("port", 3000, _positive_int, "HTTP port to listen on (flag --port)."),
    Setting("log_dir", "./logs", str, "Directory for log files (flag --log-dir)."),
    Setting("data_dir", "./data", str, "Directory for the embedded database and the generated secret."),
    Setting("mongodb_uri", "", str, "MongoDB URI; empty starts the embedded server under DATA_DIR."),
    Setting("mongodb_db", "tollgate", str, "Database name inside MongoDB."),
    Setting("session_secret", "", str, "Signs sessions and keys token hashes; generated and kept in DATA_DIR when empty."),
    Setting("sync_frequency", 60, _positive_int, "Seconds between refreshes of the in-memory caches from MongoDB."),
    Setting("relay_timeout", 0, _non_negative_int, "Seconds a whole upstream call may take; 0 means no limit."),
    Setting("connect_timeout", 10, _positive_int, "Seconds to connect to an upstream."),
    Setting("streaming_timeout", 120, _positive_int, "Seconds a stream may go without a chunk before it is ended."),
    Setting("max_request_body_mb", 32, _positive_int, "Largest request body accepted, in MiB."),
    Setting("upstream_max_clients", 2000, _positive_int, "Upstream requests in flight at once per process."),
    Setting("stream_buffer_kb", 1024, _positive_int, "What a stream may hold for a slow client before it is ended, KiB."),
    Setting("token_cache_seconds", 5, _non_negative_int, "Seconds a token or user is served from memory before re-reading it."),
    Setting("node_type", "master", _node_type, "master runs background jobs; slave never does."),
    Setting("memory_cache_enabled", True, _bool, "Serve tokens and users from process memory for TOKEN_CACHE_SECONDS."),
    Setting("channel_test_frequency", 0, _non_negative_int, "Minutes between tests of every channel; 0 turns them off."),
    Setting("channel_update_frequency", 0, _non_negative_int, "Minutes between balance refreshes; 0 turns them off."),
    Setting("polling_interval", 0, _non_negative_int, "Seconds between two channels during those tests and refreshes."),
    Setting("batch_update_enabled", True, _bool, "Write usage counters and consumption logs in batches."),
    Setting("batch_update_interval", 1, _positive_int, "Seconds between batch writes (and quota reserve syncs)."),
    Setting("mj_poll_seconds", 15, _non_negative_int, "Seconds between polls of unfinished Midjourney tasks; 0 turns polling off."),
    Setting("lease_seconds", 30, _positive_int, "Seconds the background-job lease lasts unless renewed."),
    Setting("frontend_base_url", "", str, "On slave nodes, page requests are redirected here."),
    Setting("workers", 1, _positive_int, "Processes serving the port (flag --workers)."),
    Setting("shutdown_grace_seconds", 30, _non_negative_int, "On SIGTERM, seconds open streams may run on."),
    Setting("redis_conn_string", "", str, "Redis URL; shares caches, rate-limit counts and change notices across nodes."),
    Setting("global_api_rate_limit", 180, _non_negative_int, "Requests per IP to /api per three minutes; 0 turns it off."),
    Setting("global_web_rate_limit", 60, _non_negative_int, "Page requests per IP per three minutes; 0 turns it off."),
    Setting("trusted_proxies", "127.0.0.0/8,::1", _networks,
            "Peers whose X-Forwarded-For, X-Real-Ip and X-Forwarded-Proto are believed (addresses or ranges, "
            "comma-separated); empty: nobody's."),
    Setting("critical_rate_limit", 20, _non_negative_int, "Login and registration attempts per IP per twenty minutes."),
    Setting("debug", False, _bool, "Verbose logging; access lines also go to tollgate.log and standard error."),
    Setting("metrics_token", "", str, "When set, GET /metrics needs 'Authorization: Bearer' this token."),
    Setting("sql_dsn", "", _mongodb_dsn, "One API's database setting: a mongodb:// URI here is used as MONGODB_URI."),
    Setting("sql_max_open_conns", 100, _positive_int, "Most MongoDB connections per process (maxPoolSize)."),
    Setting("sql_max_idle_conns", 0, _non_negative_int, "MongoDB connections kept open when idle (minPoolSize)."),
    Setting("sql_conn_max_lifetime", 0, _non_negative_int,
            "Seconds an idle MongoDB connection is kept (maxIdleTimeMS); 0 keeps it. SQL_MAX_LIFETIME works too."),
    Setting("azure_api_version", "2024-10-21", str, "api-version of Azure OpenAI calls when the channel names none."),
    Setting("max_file_download_mb", 20, _positive_int,
            "Largest file (an image given by web address in a message) the gateway downloads, in MiB."),
    Setting("user_content_allow_private", False, _bool,
            "Also fetch images from loopback and private network addresses (off: only public ones)."),
    Setting("user_content_request_timeout", 30, _positive_int,
            "Seconds a download of a file given by web address in a message may take."),
    Setting("gemini_safety_setting", "BLOCK_NONE", _gemini_threshold,
            "Threshold sent to Gemini for every harm category (BLOCK_NONE, OFF, BLOCK_ONLY_HIGH, ...)."),
]

# Other names One API operators already have in their environment files.
_ALIASES = {"sql_conn_max_lifetime": "SQL_MAX_LIFETIME"}

_BY_NAME = {s.name: s for s in SETTINGS}

Settings = dataclasses.make_dataclass(
    "Settings", [(s.name, Any, dataclasses.field(default=s.default)) for s in SETTINGS], frozen=True
)


class SettingsError(ValueError):
    pass


def load_settings(env=None, **overrides) -> "Settings":
    """Read every setting from `env` (default: the process environment), then apply overrides."""
    env = os.environ if env is None else env
    values = {}
    for setting in SETTINGS:
        raw = env.get(setting.name.upper(), env.get(_ALIASES.get(setting.name, "")))
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{setting.name.upper()}={raw!r}: {exc}") from None
    for name, value in overrides.items():
        if name not in _BY_NAME:
            raise SettingsError(f"unknown setting {name}")
        if value is not None:
            values[name] = value
    if not values["mongodb_uri"] and values["sql_dsn"]:
        values["mongodb_uri"] = values["sql_dsn"]
    if values["sql_max_idle_conns"] > values["sql_max_open_conns"]:
        raise SettingsError("SQL_MAX_IDLE_CONNS must not be larger than SQL_MAX_OPEN_CONNS")
    return Settings(**values)


def describe() -> str:
    """The settings table printed by --help."""
    rows = [f"  {s.name.upper():24} default {s.default!r:10}  {s.help}" for s in SETTINGS]
    return "Environment settings:\n" + "\n".join(rows)
