"""Run-time options (the `options` collection): name, default and type of each, as One API names them.

Values are stored as strings, like One API; `parse` turns one into its typed value and raises
ValueError with a message when it is not valid, so a bad value is refused and the old one kept.
"""
import json
import os

import ujson

_RATIOS_FILE = os.path.join(os.path.dirname(__file__), "ratios.json")


def default_ratios() -> dict:
    with open(_RATIOS_FILE) as f:
        return json.load(f)


def _bool(text):
    if str(text).lower() in ("true", "1"):
        return True
    if str(text).lower() in ("false", "0", ""):
        return False
    raise ValueError("must be true or false")


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None


def _non_negative_int(text):
    value = _int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _ratio_table(text):
    """A JSON object of name → non-negative number."""
    try:
        table = ujson.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise ValueError("must be a JSON object") from None
    if not isinstance(table, dict):
        raise ValueError("must be a JSON object")
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name}: must be a number of zero or more")
    return table


def _optional_ratio(text):
    """Empty (not set) or a number of zero or more."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be empty or a number") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _text(text):
    return "" if text is None else str(text)


_RATIOS = default_ratios()

# name: (default as stored, parser)
OPTIONS = {
    "SystemName": ("Tollgate", _text),
    "ServerAddress": ("", _text),
    "RegisterEnabled": ("true", _bool),
    "PasswordLoginEnabled": ("true", _bool),
    "PasswordRegisterEnabled": ("true", _bool),
    "QuotaForNewUser": ("0", _non_negative_int),
    "PreConsumedQuota": ("500", _non_negative_int),
    "QuotaPerUnit": ("500000", _non_negative_int),
    "DisplayInCurrencyEnabled": ("true", _bool),
    "LogConsumeEnabled": ("true", _bool),
    "RetryTimes": ("3", _non_negative_int),
    "AutomaticDisableChannelEnabled": ("false", _bool),
    "ModelRatio": (json.dumps(_RATIOS["model_ratio"]), _ratio_table),
    "CompletionRatio": (json.dumps(_RATIOS["completion_ratio"]), _ratio_table),
    "GroupRatio": (json.dumps(_RATIOS["group_ratio"]), _ratio_table),
    "ModelPrice": (json.dumps(_RATIOS["model_price"]), _ratio_table),
    "MjTaskTimeout": ("3600", _non_negative_int),   # seconds before an unfinished Midjourney task is failed
    # Prompt-cache prices by model (wildcards allowed): reading from the cache, writing to it.
    "CacheRatio": (json.dumps(_RATIOS.get("cache_ratio", {})), _ratio_table),
    "CacheCreationRatio": (json.dumps(_RATIOS.get("cache_creation_ratio", {})), _ratio_table),
    # The model ratio of models without a ratio or price; empty refuses them.
    "DefaultModelRatio": ("", _optional_ratio),
}
