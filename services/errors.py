"""Errors the relay answers with, in OpenAI's shape, and how upstream error bodies become one."""
import re

import ujson


class ServiceError(ValueError):
    """Bad input or a refused action in a management call; `status` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str, status: int = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404


class RelayError(Exception):
    """An error for an API client: HTTP status plus OpenAI's {message, type, param, code}."""

    def __init__(self, status: int, message: str, code: str = "", type: str = "tollgate_error", param=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def upstream_error(status: int, body: bytes) -> RelayError:
    """Read an upstream's error body, whichever common shape it has, as one RelayError."""
    message, err_type, code = "", "upstream_error", "bad_response_status_code"
    try:
        payload = ujson.loads(body) if body else None
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        found = _error_fields(payload)
        if found:
            message = found.get("message") or message
            err_type = found.get("type") or err_type
            code = found.get("code") or code
    if not message:
        text = body[:300].decode("utf-8", "replace").strip() if body else ""
        message = f"upstream answered with status {status}" + (f": {text}" if text else "")
    return RelayError(status, mask_keys(str(message)), code=str(code), type=str(err_type))


# Upstreams sometimes quote the key they were sent; such text reaches clients, logs and channel reasons.
_KEYS = re.compile(r"\b(sk-(?:ant-)?[A-Za-z0-9]{2}|AIza[A-Za-z0-9]{2}|key-[A-Za-z0-9]{2})[A-Za-z0-9_*\-]{6,}")


def mask_keys(text: str) -> str:
    """`text` with anything shaped like an API key cut to its first characters."""
    return _KEYS.sub(r"\1***", text)


def _error_fields(payload: dict) -> dict:
    """OpenAI's {"error": {...}} first, then the other shapes upstreams use."""
    error = payload.get("error")
    if isinstance(error, dict):
        return {k: error.get(k) for k in ("message", "type", "code")}
    if isinstance(error, str):
        return {"message": error}
    for field in ("message", "msg", "err", "error_msg", "detail"):
        if isinstance(payload.get(field), str):
            return {"message": payload[field], "code": payload.get("code")}
    for outer in ("header", "response"):
        inner = payload.get(outer)
        if isinstance(inner, dict):
            found = _error_fields(inner)
            if found:
                return found
    return {}
