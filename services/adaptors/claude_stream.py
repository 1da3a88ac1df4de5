"""Anthropic Messages streams: converted event by event to OpenAI chat chunks, or (for Claude clients)
passed on as they are; both read the usage from message_start (input) and message_delta (output)."""
import time

import ujson

from services.adaptors import claude_convert as convert
from services.adaptors.messages_convert import error_body
from services.adaptors.messages_stream import sse
from services.sse import event_data
from services.usage import ProducedText


def _json(event: bytes):
    try:
        payload = ujson.loads(event_data(event))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


class _UsageReader:
    """Totals the usage events; `usage` is set only once message_delta came, so a stream that broke
    before its end is counted from what it produced instead."""

    def __init__(self):
        self.usage = None
        self._start = {}

    def read(self, payload):
        kind = payload.get("type")
        if kind == "message_start":
            self._start = (payload.get("message") or {}).get("usage") or {}
        elif kind == "message_delta":
            # Later API versions repeat (cumulative) input counts here; they win over message_start's.
            self.usage = convert.usage({**self._start, **(payload.get("usage") or {})})


class NativeStreamMeter(_UsageReader):
    """A Claude client's own stream: every event goes through unchanged."""

    def __init__(self):
        super().__init__()
        self.parts = ProducedText()

    def on_event(self, event: bytes):
        payload = _json(event)
        if payload is not None:
            self.read(payload)
            delta = payload.get("delta") or {}
            for field in ("text", "thinking", "partial_json"):
                if isinstance(delta.get(field), str):
                    self.parts.append(delta[field])
        return event

    def produced_text(self) -> str:
        return str(self.parts)

    def error_event(self, error) -> bytes:
        """A stream that fails mid-way ends with Anthropic's own error event."""
        return sse("error", error_body(error.status, error.message))


class ClaudeStreamMeter(_UsageReader):
    """Anthropic events → OpenAI `chat.completion.chunk` events, ending with [DONE]."""

    def __init__(self, client_wants_usage: bool):
        super().__init__()
        self.client_wants_usage = client_wants_usage
        self.id, self.model, self.created = "", "", int(time.time())
        self.tool_index = -1
        self.parts = ProducedText()

    def on_event(self, event: bytes):
        payload = _json(event)
        if payload is None:
            return None
        self.read(payload)
        handler = getattr(self, "_on_" + str(payload.get("type")), None)
        chunks = handler(payload) if handler else []
        return b"\n\n".join(chunks) if chunks else None

    def _chunk(self, delta=None, finish=None, usage=None) -> bytes:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            chunk["usage"] = usage
        return b"data: " + ujson.dumps(chunk, ensure_ascii=False).encode()

    def _on_message_start(self, payload):
        message = payload.get("message") or {}
        self.id, self.model = message.get("id", ""), message.get("model", "")
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_content_block_start(self, payload):
        block = payload.get("content_block") or {}
        if block.get("type") == "tool_use":
            self.tool_index += 1
            call = convert.tool_call({**block, "input": None}, self.tool_index)
            call["function"]["arguments"] = ""
            self.parts.append(call["function"]["name"])
            return [self._chunk({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return self._text("content", block["text"])
        return []

    def _on_content_block_delta(self, payload):
        delta = payload.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return self._text("content", delta.get("text", ""))
        if kind == "thinking_delta":
            return self._text("reasoning_content", delta.get("thinking", ""))
        if kind == "input_json_delta":
            arguments = delta.get("partial_json", "")
            self.parts.append(arguments)
            return [self._chunk({"tool_calls": [{"index": self.tool_index, "function": {"arguments": arguments}}]})]
        return []

    def _text(self, field, text):
        self.parts.append(text)
        return [self._chunk({field: text})]

    def _on_message_delta(self, payload):
        reason = convert.finish_reason((payload.get("delta") or {}).get("stop_reason"))
        return [self._chunk({}, reason or "stop")]

    def _on_message_stop(self, payload):
        chunks = []
        if self.client_wants_usage and self.usage is not None:
            chunks.append(self._chunk(usage=self.usage.to_openai()))
        return chunks + [b"data: [DONE]"]

    def _on_error(self, payload):
        error = payload.get("error") or {}
        body = {"error": {"message": error.get("message", "upstream error"), "type": error.get("type", "upstream_error"),
                          "param": None, "code": "upstream_error"}}
        return [b"data: " + ujson.dumps(body).encode()]

    def produced_text(self) -> str:
        return str(self.parts)
