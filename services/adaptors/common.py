"""Small pieces every adaptor uses."""
from services.errors import RelayError


def unsupported(kind: str):
    """The failure of a channel asked for an endpoint its protocol lacks: another channel may serve it."""
    from services.stream_relay import UpstreamFailed   # imported late: the relay modules import adaptors
    return UpstreamFailed(RelayError(503, f"This channel cannot serve {kind} requests.", "unsupported_endpoint",
                                     "upstream_error"))


def upstream_failed(status: int, message: str, code: str):
    """An answer the gateway cannot pass on: treated like an upstream error (refund, maybe retry)."""
    from services.stream_relay import UpstreamFailed
    return UpstreamFailed(RelayError(status, message, code, "upstream_error"))
