"""Anthropic Claude (Messages API): OpenAI chat requests converted to Messages and back, and native
Messages calls (POST /v1/messages from Claude clients) relayed as they are.

Conversion facts (One API / New API): system messages become the top-level `system`; tool calls become
`tool_use` blocks and tool answers `tool_result` blocks in a user turn; consecutive turns of one role are
merged and the conversation starts with a user turn; a model named `<name>-thinking` asks for extended
thinking with 80% of max_tokens as its budget.
"""
import ujson

from services.adaptors import claude_convert as convert
from services.adaptors.common import unsupported
from services.adaptors.claude_stream import ClaudeStreamMeter, NativeStreamMeter

CHANNEL_TYPES = (14,)
DEFAULT_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class ClaudeAdaptor:
    def build(self, channel, call):
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        model = (channel.model_mapping or {}).get(call.model) or call.model
        headers = {"x-api-key": channel.key, "anthropic-version": ANTHROPIC_VERSION,
                   "Content-Type": "application/json"}
        if call.stream:
            headers["Accept"] = "text/event-stream"
        if call.kind == "messages":   # a Claude client's own request: only the model may change
            headers.update(getattr(call, "anthropic_headers", {}))
            body = call.raw if model == call.model else _dumps({**call.body, "model": model})
        elif call.kind == "chat":
            body = _dumps(convert.to_messages_request(call.body, model))
        else:
            raise unsupported(call.kind)
        return f"{base}/v1/messages", headers, body

    def response_body(self, call, payload, raw: bytes) -> bytes:
        if call.kind == "messages":
            return raw
        return _dumps(convert.to_chat_completion(payload))

    def usage(self, payload):
        return convert.usage(payload.get("usage")) if isinstance(payload, dict) else None

    def stream_meter(self, call):
        if call.kind == "messages":
            return NativeStreamMeter()
        return ClaudeStreamMeter(call.wants_usage)


def _dumps(payload) -> bytes:
    return ujson.dumps(payload, ensure_ascii=False, escape_forward_slashes=False).encode()


ADAPTOR = ClaudeAdaptor()
