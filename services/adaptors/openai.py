"""OpenAI and every OpenAI-compatible API: requests pass through, usage is read from the answer.
Anthropic Messages calls of Claude clients are converted to chat completions and back."""
import ujson

from services.adaptors import messages_convert
from services.adaptors.messages_stream import MessagesStreamMeter
from services.sse import event_data
from services.usage import ProducedText, Usage

CHANNEL_TYPES = (1, 8)   # OpenAI, Custom (any OpenAI-compatible base URL)
DEFAULT_BASE_URL = "https://api.openai.com"


class OpenAIAdaptor:
    def build(self, channel, call):
        """URL, headers and body of the upstream request."""
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        headers = {"Authorization": f"Bearer {channel.key}", "Content-Type": "application/json"}
        if channel.openai_organization:
            headers["OpenAI-Organization"] = channel.openai_organization
        body = call.raw
        upstream_model = channel.model_mapping.get(call.model) if channel.model_mapping else None
        if call.kind == "messages" or upstream_model or call.stream:
            payload = (messages_convert.to_chat_request(call.body, upstream_model or call.model)
                       if call.kind == "messages" else dict(call.body))
            if upstream_model:
                payload["model"] = upstream_model
            if call.stream:
                headers["Accept"] = "text/event-stream"
                # Ask for the final usage chunk so the bill uses the upstream's own count.
                payload["stream_options"] = {**(payload.get("stream_options") or {}), "include_usage": True}
            body = ujson.dumps(payload, ensure_ascii=False).encode()
        return f"{base}{self.upstream_path(call)}", headers, body

    def upstream_path(self, call) -> str:
        """Anthropic Messages calls (from Claude clients) are served as chat completions."""
        return "/v1/chat/completions" if call.kind == "messages" else call.path

    def response_body(self, call, payload, raw: bytes) -> bytes:
        """What the client gets for a whole (non-stream) answer: OpenAI's own, unchanged (or, for a
        Claude client, converted to an Anthropic message)."""
        if call.kind == "messages":
            message = messages_convert.to_message(payload, call.model, self.usage(payload), call.prompt_estimate)
            return ujson.dumps(message, ensure_ascii=False, escape_forward_slashes=False).encode()
        return raw

    def usage(self, payload):
        return Usage.from_openai(payload.get("usage")) if isinstance(payload, dict) else None

    def stream_meter(self, call):
        if call.kind == "messages":
            return MessagesStreamMeter(call.model, call.prompt_estimate)
        return OpenAIStreamMeter(call.wants_usage)


class OpenAIStreamMeter:
    """Watches each SSE event of an OpenAI stream: keeps the usage, keeps text for a fallback count,
    and drops the usage-only event when the client did not ask for it."""

    __slots__ = ("client_wants_usage", "usage", "text_parts", "done")

    def __init__(self, client_wants_usage: bool):
        self.client_wants_usage = client_wants_usage
        self.usage = None
        self.text_parts = ProducedText()
        self.done = False

    def on_event(self, event: bytes):
        """The bytes to pass on for this event, or None to drop it. (Runs for every event of every
        stream: the common case, one choice with a text delta and no usage, takes the fewest steps.)"""
        data = event_data(event)
        if data == b"[DONE]":
            self.done = True
            return event
        try:
            payload = ujson.loads(data)
        except ValueError:
            return event
        if payload.__class__ is not dict:
            return event
        choices = payload.get("choices")
        if choices and choices.__class__ is list:
            for choice in choices:
                if choice.__class__ is dict:
                    self._keep_text(choice)
        if "usage" not in payload:
            return event
        usage = Usage.from_openai(payload["usage"])
        if usage is None:
            return event
        self.usage = usage
        if not choices and not self.client_wants_usage:
            return None
        return event

    def _keep_text(self, choice):
        delta = choice.get("delta")
        if delta and delta.__class__ is dict:
            for field in ("content", "reasoning_content"):
                text = delta.get(field)
                if text and text.__class__ is str:
                    self.text_parts.append(text)
            for tool_call in delta.get("tool_calls") or ():
                function = tool_call.get("function") if tool_call.__class__ is dict else None
                if function.__class__ is dict:
                    for part in (function.get("name"), function.get("arguments")):
                        if part and part.__class__ is str:
                            self.text_parts.append(part)
        text = choice.get("text")
        if text and text.__class__ is str:   # legacy completions
            self.text_parts.append(text)

    def produced_text(self) -> str:
        return str(self.text_parts)


ADAPTOR = OpenAIAdaptor()
