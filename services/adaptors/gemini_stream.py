"""Gemini SSE streams (streamGenerateContent?alt=sse) converted chunk by chunk to OpenAI chat chunks.

Gemini has no end event: the chunk with a finishReason is the last one with content, so it is followed
by the usage chunk (when the client asked for it) and [DONE]. usageMetadata may come in every chunk;
the latest one is the running total.
"""
import itertools
import time

import ujson

from services.adaptors import gemini_convert as convert
from services.sse import event_data
from services.usage import ProducedText


class GeminiStreamMeter:
    def __init__(self, model: str, client_wants_usage: bool):
        self.model = model
        self.client_wants_usage = client_wants_usage
        self.id = f"chatcmpl-{int(time.time() * 1000)}"
        self.created = int(time.time())
        self.usage = None
        self.parts = ProducedText()
        self.call_ids = itertools.count(1)
        self.tool_index = 0
        self.started = False

    def on_event(self, event: bytes):
        try:
            payload = ujson.loads(event_data(event))
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        if isinstance(payload.get("error"), dict):
            return b"data: " + ujson.dumps({"error": {**payload["error"], "type": "upstream_error"}}).encode()
        found = convert.usage(payload.get("usageMetadata"))
        if found is not None:
            self.usage = found
        chunks, finished = [], False
        for candidate in payload.get("candidates") or ():
            chunks.append(self._candidate_chunk(candidate))
            finished = finished or bool(candidate.get("finishReason"))
        if finished:
            if self.client_wants_usage and self.usage is not None:
                chunks.append(self._chunk([], self.usage.to_openai()))
            chunks.append(b"data: [DONE]")
        return b"\n\n".join(chunks) if chunks else None

    def _candidate_chunk(self, candidate) -> bytes:
        delta = convert.convert_parts((candidate.get("content") or {}).get("parts"), self.call_ids)
        for call in delta.get("tool_calls", ()):
            call["index"] = self.tool_index      # numbered across the whole stream, as OpenAI does
            self.tool_index += 1
            self.parts.append(call["function"]["name"] + call["function"]["arguments"])
        self.parts.extend(delta.get(f, "") for f in ("content", "reasoning_content"))
        if not self.started:
            delta = {"role": "assistant", **delta}
            self.started = True
        finish = convert.finish_reason(candidate.get("finishReason"), self.tool_index > 0)
        return self._chunk([{"index": candidate.get("index", 0), "delta": delta, "finish_reason": finish}])

    def _chunk(self, choices, usage=None) -> bytes:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": choices}
        if usage is not None:
            chunk["usage"] = usage
        return b"data: " + ujson.dumps(chunk, ensure_ascii=False).encode()

    def produced_text(self) -> str:
        return str(self.parts)
