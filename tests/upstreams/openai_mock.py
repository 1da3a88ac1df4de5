"""A local OpenAI-compatible upstream. What it does is chosen by the API key a channel sends:

  key-ok          answers normally (usage included; a usage chunk on streams when asked)
  key-nousage     answers without any usage
  key-dead        401 invalid_api_key            key-broke     429 insufficient_quota
  key-deactivated 401 account_deactivated        key-429       429 rate limit (a passing condition)
  key-400         400 context too long (the request's fault: not retried)
  key-500         500 server error               key-jsonstream  a stream request answered with JSON
  key-empty       a stream request answered with an event stream that holds no event
  key-hold        streams one chunk, then waits for `release` before the rest
  key-drop        streams one chunk, then waits for `release` and drops the connection
  sk-echo...      401 that quotes the whole key it was sent
  any other key   answers like key-ok (tests tell channels apart by their keys)

A chat request with `tools` is answered with a call of the first tool (TOOL_ARGUMENTS), streamed in two
argument pieces when streaming, finish_reason "tool_calls".
"""
import asyncio

import ujson
from tornado.web import Application, RequestHandler

from tests.upstreams.billing_mock import billing_routes

REPLY_WORDS = ["Hello", " from", " the", " mock", " upstream", "."]
PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
TOOL_ARGUMENTS = '{"city": "Lisbon"}'


class MockState:
    def __init__(self):
        self.requests = []           # (path, headers, body) of every call
        self.release = asyncio.Event()
        self.held = asyncio.Event()  # set once a key-hold stream sent its first chunk
        self.closed_early = asyncio.Event()
        self.completed = 0           # answers sent to their end

    def keys_seen(self) -> list:
        """The channel key of every call, in order."""
        return [headers.get("Authorization", "").removeprefix("Bearer ") for _, headers, _ in self.requests]


def _error(status, message, type_, code):
    return status, {"error": {"message": message, "type": type_, "param": None, "code": code}}


FAILURES = {
    "key-dead": _error(401, "Incorrect API key provided: key-dead.", "invalid_request_error", "invalid_api_key"),
    "key-deactivated": _error(401, "This key is associated with a deactivated account.", "invalid_request_error",
                              "account_deactivated"),
    "key-broke": _error(429, "You exceeded your current quota, please check your plan and billing details.",
                        "insufficient_quota", "insufficient_quota"),
    "key-429": _error(429, "Rate limit reached for requests per min.", "requests", "rate_limit_exceeded"),
    "key-400": _error(400, "This model's maximum context length is 128000 tokens.", "invalid_request_error",
                      "context_length_exceeded"),
    "key-500": _error(500, "The server had an error while processing your request.", "server_error", None),
}


class MockHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    @property
    def key(self):
        return self.request.headers.get("Authorization", "").removeprefix("Bearer ")

    async def post(self, kind):
        body = ujson.loads(self.request.body)
        self.state.requests.append((self.request.path, dict(self.request.headers), body))
        if self.key in FAILURES:
            status, payload = FAILURES[self.key]
            self.set_status(status)
            return self.done(payload)
        if self.key.startswith("sk-echo"):     # an upstream that quotes the whole key it was sent
            self.set_status(401)
            return self.done(_error(401, f"Incorrect API key provided: {self.key}.", "invalid_request_error",
                                    "invalid_api_key")[1])
        if kind == "embeddings":
            return self.done({"object": "list", "model": body["model"],
                              "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                              "usage": {"prompt_tokens": PROMPT_TOKENS, "total_tokens": PROMPT_TOKENS}})
        if body.get("tools") and kind == "chat/completions":
            return await self.tool_call(body)
        if body.get("stream") and self.key != "key-jsonstream":
            return await self.stream(kind, body)
        text = "".join(REPLY_WORDS)
        chat = kind == "chat/completions"
        choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                  if chat else {"index": 0, "text": text, "finish_reason": "stop"})
        reply = {"id": "chatcmpl-mock", "object": "chat.completion" if chat else "text_completion",
                 "model": body["model"], "choices": [choice]}
        if self.key != "key-nousage":
            reply["usage"] = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                              "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
        self.done(reply)

    async def stream(self, kind, body):
        self.set_header("Content-Type", "text/event-stream")
        if self.key == "key-empty":
            await self.flush()
            return self.done()
        for i, word in enumerate(REPLY_WORDS):
            delta = {"delta": {"content": word}} if kind == "chat/completions" else {"text": word}
            chunk = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": body["model"],
                     "choices": [{"index": 0, **delta, "finish_reason": None}]}
            if (body.get("stream_options") or {}).get("include_usage"):
                chunk["usage"] = None
            await self.send(chunk)
            if i == 0 and self.key in ("key-hold", "key-drop"):
                self.state.held.set()
                await self.state.release.wait()
                if self.request.connection.stream.closed():
                    return
            if i == 0 and self.key == "key-drop":
                self.request.connection.stream.close()
                return
        if (body.get("stream_options") or {}).get("include_usage") and self.key != "key-nousage":
            await self.send({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": body["model"],
                             "choices": [], "usage": {"prompt_tokens": PROMPT_TOKENS,
                                                      "completion_tokens": COMPLETION_TOKENS,
                                                      "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}})
        self.write(b"data: [DONE]\n\n")
        self.done()

    async def tool_call(self, body):
        name = body["tools"][0]["function"]["name"]
        call = {"index": 0, "id": "call_mock", "type": "function", "function": {"name": name, "arguments": ""}}
        usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                 "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
        if not body.get("stream"):
            call["function"]["arguments"] = TOOL_ARGUMENTS
            del call["index"]
            return self.done({"id": "chatcmpl-mock", "object": "chat.completion", "model": body["model"],
                              "usage": usage, "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                                  "role": "assistant", "content": None, "tool_calls": [call]}}]})
        self.set_header("Content-Type", "text/event-stream")
        pieces = [{"tool_calls": [call]}] + [
            {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
            for part in (TOOL_ARGUMENTS[:6], TOOL_ARGUMENTS[6:])]
        for delta in pieces:
            await self.send({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": body["model"],
                             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        await self.send({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": body["model"],
                         "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            await self.send({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": body["model"],
                             "choices": [], "usage": usage})
        self.write(b"data: [DONE]\n\n")
        self.done()

    async def send(self, payload):
        self.write(b"data: " + ujson.dumps(payload).encode() + b"\n\n")
        try:
            await self.flush()
        except Exception:
            self.state.closed_early.set()
            raise

    def done(self, payload=None):
        self.finish(payload)
        self.state.completed += 1

    def on_connection_close(self):
        self.state.closed_early.set()


def make_mock_app(state: MockState) -> Application:
    return Application([(r"/v1/(chat/completions|completions|embeddings)", MockHandler, {"state": state})]
                       + billing_routes(state))
