"""OpenAI and every OpenAI-compatible API: requests pass through, usage is read from the answer."""
import ujson

from services.adaptors.common import unsupported
from services.sse import event_data
from services.usage import Usage

CHANNEL_TYPES = (1, 8)   # OpenAI, Custom (any OpenAI-compatible base URL)
DEFAULT_BASE_URL = "https://api.openai.com"


class OpenAIAdaptor:
    def build(self, channel, call):
        """URL, headers and body of the upstream request."""
        if call.kind == "messages":   # Anthropic's native format: only Claude channels speak it
            raise unsupported(call.kind)
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        headers = {"Authorization": f"Bearer {channel.key}", "Content-Type": "application/json"}
        if channel.openai_organization:
            headers["OpenAI-Organization"] = channel.openai_organization
        body = call.raw
        upstream_model = channel.model_mapping.get(call.model) if channel.model_mapping else None
        if upstream_model or call.stream:
            payload = dict(call.body)
            if upstream_model:
                payload["model"] = upstream_model
            if call.stream:
                headers["Accept"] = "text/event-stream"
                # Ask for the final usage chunk so the bill uses the upstream's own count.
                payload["stream_options"] = {**(payload.get("stream_options") or {}), "include_usage": True}
            body = ujson.dumps(payload, ensure_ascii=False).encode()
        return f"{base}{call.path}", headers, body

    def response_body(self, call, payload, raw: bytes) -> bytes:
        """What the client gets for a whole (non-stream) answer: OpenAI's own, unchanged."""
        return raw

    def usage(self, payload):
        return Usage.from_openai(payload.get("usage")) if isinstance(payload, dict) else None

    def stream_meter(self, call):
        return OpenAIStreamMeter(call.wants_usage)


class OpenAIStreamMeter:
    """Watches each SSE event of an OpenAI stream: keeps the usage, keeps text for a fallback count,
    and drops the usage-only event when the client did not ask for it."""

    def __init__(self, client_wants_usage: bool):
        self.client_wants_usage = client_wants_usage
        self.usage = None
        self.text_parts = []
        self.done = False

    def on_event(self, event: bytes):
        """The bytes to pass on for this event, or None to drop it."""
        data = event_data(event)
        if data == b"[DONE]":
            self.done = True
            return event
        try:
            payload = ujson.loads(data)
        except ValueError:
            return event
        if not isinstance(payload, dict):
            return event
        usage = Usage.from_openai(payload.get("usage"))
        if usage is not None:
            self.usage = usage
        choices = payload.get("choices") or []
        for choice in choices:
            self._keep_text(choice)
        if usage is not None and not choices and not self.client_wants_usage:
            return None
        return event

    def _keep_text(self, choice):
        delta = choice.get("delta") or {}
        for field in ("content", "reasoning_content"):
            if isinstance(delta.get(field), str):
                self.text_parts.append(delta[field])
        for tool_call in delta.get("tool_calls") or ():
            function = tool_call.get("function") or {}
            self.text_parts.append((function.get("name") or "") + (function.get("arguments") or ""))
        if isinstance(choice.get("text"), str):   # legacy completions
            self.text_parts.append(choice["text"])

    def produced_text(self) -> str:
        return "".join(self.text_parts)


ADAPTOR = OpenAIAdaptor()
