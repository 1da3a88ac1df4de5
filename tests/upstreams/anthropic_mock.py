"""A local Anthropic Messages API (POST /v1/messages), chosen by the `x-api-key` a channel sends:

  claude-ok     answers: a thinking block when thinking is asked for, a tool_use block when tools are
                given, else text; usage with cache reads and writes; SSE events when stream is true
  claude-dead   401 authentication_error          claude-busy   529 overloaded_error
  claude-midfail  streams one word, then an `error` event
"""
import ujson
from tornado.web import Application, RequestHandler

WORDS = ["Bonjour", " from", " Claude", "."]
THOUGHT = "Let me think."
TOOL_INPUT = {"city": "Paris"}
USAGE = {"input_tokens": 20, "output_tokens": 9, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50}
FAILURES = {
    "claude-dead": (401, "authentication_error", "invalid x-api-key"),
    "claude-busy": (529, "overloaded_error", "Overloaded"),
}


class AnthropicState:
    def __init__(self):
        self.requests = []   # (headers, body)


def blocks_for(body):
    blocks = []
    if body.get("thinking"):
        blocks.append({"type": "thinking", "thinking": THOUGHT, "signature": "sig"})
    if body.get("tools"):
        blocks.append({"type": "tool_use", "id": "toolu_1", "name": body["tools"][0]["name"], "input": TOOL_INPUT})
    else:
        blocks.append({"type": "text", "text": "".join(WORDS)})
    return blocks


class MessagesHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    async def post(self):
        body = ujson.loads(self.request.body)
        self.state.requests.append((dict(self.request.headers), body))
        key = self.request.headers.get("x-api-key", "")
        if key in FAILURES:
            status, kind, message = FAILURES[key]
            self.set_status(status)
            return self.finish({"type": "error", "error": {"type": kind, "message": message}})
        blocks = blocks_for(body)
        stop = "tool_use" if body.get("tools") else "end_turn"
        if body.get("stream"):
            return await self.stream(body, blocks, stop)
        self.finish({"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                     "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": USAGE})

    async def stream(self, body, blocks, stop):
        self.set_header("Content-Type", "text/event-stream")
        start_usage = {**USAGE, "output_tokens": 1}
        await self.event("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "usage": start_usage}})
        await self.event("ping", {"type": "ping"})
        if self.request.headers.get("x-api-key") == "claude-midfail":
            await self.block_start_and_word()
            await self.event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
            return self.finish()
        for index, block in enumerate(blocks):
            await self.block(index, block)
        await self.event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop},
                                           "usage": {"output_tokens": USAGE["output_tokens"]}})
        await self.event("message_stop", {"type": "message_stop"})
        self.finish()

    async def block_start_and_word(self):
        await self.event("content_block_start", {"type": "content_block_start", "index": 0,
                                                 "content_block": {"type": "text", "text": ""}})
        await self.event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": WORDS[0]}})

    async def block(self, index, block):
        kind = block["type"]
        start = {"type": kind, "text": ""} if kind == "text" else (
            {"type": "thinking", "thinking": ""} if kind == "thinking" else {**block, "input": {}})
        await self.event("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": start})
        if kind == "text":
            deltas = [{"type": "text_delta", "text": w} for w in WORDS]
        elif kind == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": THOUGHT}, {"type": "signature_delta", "signature": "s"}]
        else:
            arguments = ujson.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": arguments[:5]},
                      {"type": "input_json_delta", "partial_json": arguments[5:]}]
        for delta in deltas:
            await self.event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        await self.event("content_block_stop", {"type": "content_block_stop", "index": index})

    async def event(self, name, payload):
        self.write(f"event: {name}\ndata: ".encode() + ujson.dumps(payload).encode() + b"\n\n")
        await self.flush()


def make_anthropic_app(state: AnthropicState) -> Application:
    return Application([(r"/v1/messages", MessagesHandler, {"state": state})])
