"""An OpenAI chat stream converted, chunk by chunk, to the Anthropic Messages stream a Claude client
expects: message_start, then content_block_start / content_block_delta / content_block_stop for each
text, thinking or tool_use block, then message_delta (stop reason, usage) and message_stop."""
import ujson

from services.adaptors import messages_convert as convert
from services.sse import event_data
from services.usage import ProducedText, Usage


def sse(name: str, payload: dict) -> bytes:
    return f"event: {name}\ndata: ".encode() + ujson.dumps(payload, ensure_ascii=False).encode()


class MessagesStreamMeter:
    def __init__(self, model: str, prompt_estimate: int):
        self.model = model
        self.prompt_estimate = prompt_estimate
        self.usage = None
        self.parts = ProducedText()
        self.started = self.finished = False
        self.block = None          # the open block: "text", "thinking" or ("tool", OpenAI's tool index)
        self.index = -1            # Anthropic's index of the open block
        self.tool_blocks = {}      # OpenAI tool index → Anthropic block index
        self.finish_reason = None

    def on_event(self, event: bytes):
        data = event_data(event)
        if data == b"[DONE]":
            return self._finish()
        try:
            payload = ujson.loads(data)
        except ValueError:
            return None
        if not isinstance(payload, dict) or self.finished:
            return None
        if isinstance(payload.get("error"), dict):
            error = payload["error"]
            return sse("error", {"type": "error", "error": {"type": "api_error",
                                                            "message": str(error.get("message", "upstream error"))}})
        usage = Usage.from_openai(payload.get("usage"))
        if usage is not None:
            self.usage = usage
        out = [] if self.started else [self._message_start(payload)]
        self.started = True
        for choice in (payload.get("choices") or [])[:1]:
            out += self._delta(choice.get("delta") or {})
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return b"\n\n".join(out) if out else None

    def on_end(self):
        """The upstream closed the stream: close the message if it said it was finished ([DONE] is
        optional for some OpenAI-compatible servers); a broken stream gets an error event instead."""
        if self.finish_reason and not self.finished:
            return self._finish()
        return None

    def error_event(self, error) -> bytes:
        return sse("error", convert.error_body(error.status, error.message))

    def _message_start(self, payload) -> bytes:
        return sse("message_start", {"type": "message_start", "message": {
            "id": convert.message_id(payload.get("id")), "type": "message", "role": "assistant",
            "model": self.model, "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.prompt_estimate, "output_tokens": 0}}})

    def _delta(self, delta) -> list:
        out = []
        if isinstance(delta.get("reasoning_content"), str) and delta["reasoning_content"]:
            out += self._open("thinking", {"type": "thinking", "thinking": ""})
            out.append(self._block_delta({"type": "thinking_delta", "thinking": delta["reasoning_content"]}))
            self.parts.append(delta["reasoning_content"])
        if isinstance(delta.get("content"), str) and delta["content"]:
            out += self._open("text", {"type": "text", "text": ""})
            out.append(self._block_delta({"type": "text_delta", "text": delta["content"]}))
            self.parts.append(delta["content"])
        for call in delta.get("tool_calls") or ():
            out += self._tool_call(call)
        return out

    def _tool_call(self, call) -> list:
        out, position = [], call.get("index", 0)
        function = call.get("function") or {}
        if position not in self.tool_blocks:
            out += self._open(("tool", position), {"type": "tool_use", "id": call.get("id", ""),
                                                   "name": function.get("name", ""), "input": {}})
            self.tool_blocks[position] = self.index
            self.parts.append(function.get("name", ""))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self.parts.append(arguments)
            out.append(sse("content_block_delta", {"type": "content_block_delta", "index": self.tool_blocks[position],
                                                   "delta": {"type": "input_json_delta", "partial_json": arguments}}))
        return out

    def _open(self, block, start: dict) -> list:
        if self.block == block:
            return []
        out = self._close()
        self.block, self.index = block, self.index + 1
        out.append(sse("content_block_start", {"type": "content_block_start", "index": self.index,
                                               "content_block": start}))
        return out

    def _close(self) -> list:
        if self.block is None:
            return []
        self.block = None
        return [sse("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def _block_delta(self, delta) -> bytes:
        return sse("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})

    def _finish(self):
        if self.finished:
            return None
        out = [] if self.started else [self._message_start({})]
        self.started = self.finished = True
        out += self._close()
        out.append(sse("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": convert.stop_reason(self.finish_reason),
                                                   "stop_sequence": None},
                                         "usage": convert.usage_of(self.usage, self.prompt_estimate)}))
        out.append(sse("message_stop", {"type": "message_stop"}))
        return b"\n\n".join(out)

    def produced_text(self) -> str:
        return str(self.parts)
