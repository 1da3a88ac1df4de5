"""Splitting a byte stream into Server-Sent Events as chunks arrive."""


class EventSplitter:
    """Feed raw chunks; get back complete events (each without its blank-line terminator)."""

    __slots__ = ("_pending",)

    def __init__(self):
        self._pending = b""

    def feed(self, chunk: bytes) -> list:
        data = self._pending + chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        events = data.split(b"\n\n")
        self._pending = events.pop()
        return [e for e in events if e.strip()]

    def rest(self) -> list:
        """What is left when the stream ends without a final blank line."""
        rest, self._pending = self._pending.strip(), b""
        return [rest] if rest else []


def event_data(event: bytes) -> bytes:
    """The `data:` payload of one event (several data lines are joined with newlines)."""
    if event.startswith(b"data:") and b"\n" not in event:    # nearly every event: one data line
        return event[5:].lstrip(b" ")
    lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines)
