"""Run-time options (the `options` collection): name, default and type of each, as One API names them.

Values are stored as strings, like One API; `parse` turns one into its typed value and raises
ValueError with a message when it is not valid, so a bad value is refused and the old one kept.
"""
import decimal
import json
import math
import os
import re
import urllib.parse

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
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value) or value < 0:
            raise ValueError(f"{name}: must be a number of zero or more")
    return table


def _finite(value) -> bool:
    """NaN and infinities parse as numbers (float("nan"), JSON's NaN and 1e999) but price nothing."""
    return not (isinstance(value, float) and not math.isfinite(value))


def _optional_ratio(text):
    """Empty (not set) or a number of zero or more."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be empty or a number") from None
    if not _finite(value):
        raise ValueError("must be empty or a number")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _non_negative_number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError("must be a number") from None
    if not _finite(value):
        raise ValueError("must be a number")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _text(text):
    return "" if text is None else str(text)


def _group_names(text):
    """A JSON object of group name → description (the groups a user may choose for a token)."""
    try:
        table = ujson.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise ValueError("must be a JSON object") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError("must be a JSON object of group name to description")
    return table


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
    "AutomaticEnableChannelEnabled": ("false", _bool),   # a passing channel test enables an auto-disabled channel
    "ChannelDisableThreshold": ("5", _non_negative_number),   # seconds; a slower answer in "test all" disables
    "DisplayTokenStatEnabled": ("true", _bool),          # key-based billing endpoints report the token, not the user
    "ModelRatio": (json.dumps(_RATIOS["model_ratio"]), _ratio_table),
    "CompletionRatio": (json.dumps(_RATIOS["completion_ratio"]), _ratio_table),
    "GroupRatio": (json.dumps(_RATIOS["group_ratio"]), _ratio_table),
    "ModelPrice": (json.dumps(_RATIOS["model_price"]), _ratio_table),
    "MjTaskTimeout": ("3600", _non_negative_int),   # seconds before an unfinished Midjourney task is failed
    "Notice": ("", _text),
    "About": ("", _text),
    "HomePageContent": ("", _text),
    "Logo": ("", _text),
    "Footer": ("", _text),
    "TopUpLink": ("", _text),
    "ChatLink": ("", _text),
    "QuotaForInviter": ("0", _non_negative_int),
    "QuotaForInvitee": ("0", _non_negative_int),
    "UserUsableGroups": ('{"default": "default group"}', _group_names),
    # Prompt-cache prices by model (wildcards allowed): reading from the cache, writing to it.
    "CacheRatio": (json.dumps(_RATIOS.get("cache_ratio", {})), _ratio_table),
    "CacheCreationRatio": (json.dumps(_RATIOS.get("cache_creation_ratio", {})), _ratio_table),
    # The model ratio of models without a ratio or price; empty refuses them.
    "DefaultModelRatio": ("", _optional_ratio),
}


# ---- Online top-up through 易支付 (epay) and WxPusher notices ----------------------------------------
PAY_METHOD = re.compile(r"^[a-z0-9_]{1,20}$")


def _address(text):
    """Empty, or an http(s) base address without a query string."""
    text = _text(text).strip()
    if not text:
        return ""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an http:// or https:// address")
    return text.rstrip("/")


def _merchant_id(text):
    text = _text(text).strip()
    if text and not text.isalnum():
        raise ValueError("must be letters and digits only")
    return text


def _positive_decimal(text):
    try:
        value = decimal.Decimal(str(text).strip())
    except decimal.InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError("must be a number greater than zero")
    return value


def _positive_int(text):
    value = _int(text)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _pay_methods(text):
    """A JSON list of epay payment types, e.g. ["alipay", "wxpay", "qqpay"]."""
    try:
        methods = ujson.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise ValueError("must be a JSON list") from None
    if not isinstance(methods, list) or not methods:
        raise ValueError("must be a JSON list of at least one payment type")
    for method in methods:
        if not isinstance(method, str) or not PAY_METHOD.match(method):
            raise ValueError(f"{method!r}: a payment type is lower-case letters, digits or _")
    if len(set(methods)) != len(methods):
        raise ValueError("lists a payment type twice")
    return methods


def _uid_list(text):
    """WxPusher receivers: UID_... ids separated by commas, spaces or new lines."""
    uids = [u for u in re.split(r"[\s,]+", _text(text)) if u]
    for uid in uids:
        if not re.match(r"^UID_[A-Za-z0-9_-]{1,60}$", uid):
            raise ValueError(f"{uid!r} is not a WxPusher UID (UID_...)")
    return uids


def _topic_list(text):
    topics = [t for t in re.split(r"[\s,]+", _text(text)) if t]
    if any(not t.isdigit() for t in topics):
        raise ValueError("topic ids are whole numbers separated by commas")
    return [int(t) for t in topics]


OPTIONS.update({
    "PayAddress": ("", _address),                      # epay site; orders go to <PayAddress>/submit.php
    "EpayId": ("", _merchant_id),                      # merchant id (pid)
    "EpayKey": ("", _text),                            # merchant key: signs orders, checks notices
    "Price": ("7.3", _positive_decimal),               # money charged per 1 USD of quota
    "MinTopUp": ("1", _positive_int),                  # smallest top-up, in USD of quota
    "PayMethods": ('["alipay", "wxpay", "qqpay"]', _pay_methods),
    "CustomCallbackAddress": ("", _address),           # where epay calls back; ServerAddress when empty
    "TopupGroupRatio": ('{"default": 1, "vip": 1, "svip": 1}', _ratio_table),
    "WxPusherNotificationsEnabled": ("false", _bool),
    "WxPusherAddress": ("https://wxpusher.zjiecode.com", _address),
    "WxPusherAppToken": ("", _text),
    "WxPusherUids": ("", _uid_list),
    "WxPusherTopicIds": ("", _topic_list),
})

# Options whose values are secrets: never sent back by any option listing, not even to root.
# Never listed by the API: One API's rule (names ending in Token, Secret or Key) covers today's secrets.
SECRET_OPTIONS = frozenset(name for name in OPTIONS if name.endswith(("Token", "Secret", "Key")))
