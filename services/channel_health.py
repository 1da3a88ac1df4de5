"""Which upstream errors prove a channel's key is dead, so the channel should be disabled."""
from services.errors import RelayError

DEAD_KEY_TYPES = {"insufficient_quota", "authentication_error", "permission_error", "forbidden"}
DEAD_KEY_CODES = {"invalid_api_key", "account_deactivated", "billing_not_active"}
DEAD_KEY_WORDS = (
    "your access was terminated",
    "violation of our policies",
    "your credit balance is too low",
    "organization has been disabled",
    "organization has been restricted",
    "exceeded your current quota",
    "api key not valid",
    "api key expired",
    "incorrect api key",
    "permission denied",
    "已欠费",
)


def dead_key_reason(error: RelayError):
    """A reason to disable the channel, or None when the error says nothing about the key."""
    if error.status == 401:
        return f"status 401: {error.message}"
    if error.type in DEAD_KEY_TYPES or error.code in DEAD_KEY_CODES:
        return f"{error.code or error.type}: {error.message}"
    lowered = error.message.lower()
    if any(word in lowered for word in DEAD_KEY_WORDS):
        return error.message
    return None


def should_retry(status: int) -> bool:
    """Another channel may succeed where this one failed (One API's rule): not for 400 or success."""
    return status != 400 and not (200 <= status < 300)
