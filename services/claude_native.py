"""Native Anthropic Messages calls (POST /v1/messages from Claude clients): read once, priced and billed
by the relay like any call, relayed as they are to Claude channels."""
import dataclasses

import ujson

from services.adaptors.claude_convert import text_of
from services.errors import RelayError
from services.relay import RelayCall, json_object
from services.request_shape import check_messages
from services.vision import base64_size, claude_image_tokens

# Client headers that change what Anthropic does; they go up with the call.
PASSED_HEADERS = ("anthropic-version", "anthropic-beta")


@dataclasses.dataclass
class MessagesCall(RelayCall):
    anthropic_headers: dict = dataclasses.field(default_factory=dict)

    def count_prompt(self, tokenizer) -> int:
        """Estimate the prompt as OpenAI would count the same conversation."""
        system = self.body.get("system")
        messages = [{"role": "system", "content": _blocks_text(system)}] if system else []
        for message in self.body.get("messages") or ():
            if isinstance(message, dict):
                messages.append({"role": str(message.get("role", "")), "content": _blocks_text(message.get("content"))})
        tokens = tokenizer.count_messages(self.model, messages)
        tokens += sum(claude_image_tokens(_image_size(block)) for block in _image_blocks(self.body))
        if self.body.get("tools"):
            tokens += tokenizer.count_text(self.model, ujson.dumps(self.body["tools"]))
        return tokens


def _image_blocks(body):
    """The image blocks of every message, tool results' included."""
    todo = [m.get("content") for m in body.get("messages") or () if isinstance(m, dict)]
    while todo:
        content = todo.pop()
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "image":
                yield block
            elif isinstance(block, dict) and block.get("type") == "tool_result":
                todo.append(block.get("content"))


def _image_size(block):
    source = block.get("source")
    return base64_size(source.get("data")) if isinstance(source, dict) and source.get("type") == "base64" else None


def _blocks_text(content) -> str:
    if isinstance(content, list):
        parts = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                parts.append(block.get("name", "") + ujson.dumps(block.get("input") or {}))
            elif block.get("type") == "tool_result":
                parts.append(_blocks_text(block.get("content")))
            else:
                parts.append(text_of([block]) if block.get("type") == "text" else "")
        return "\n".join(p for p in parts if p)
    return content if isinstance(content, str) else ""


def parse_messages_call(raw: bytes, headers, caller, request_id: str, client_ip: str) -> MessagesCall:
    body = json_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RelayError(400, "model: Field required", "missing_model", "invalid_request_error", "model")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise RelayError(400, "messages: Field required", "invalid_messages", "invalid_request_error", "messages")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
        raise RelayError(400, "max_tokens: Field required (a positive integer)", "invalid_max_tokens",
                         "invalid_request_error", "max_tokens")
    check_messages(body)
    passed = {name: headers[name] for name in PASSED_HEADERS if headers.get(name)}
    stream = body.get("stream") is True
    return MessagesCall("/v1/messages", "messages", raw, body, model, stream, False, caller, request_id,
                        client_ip, anthropic_headers=passed)
