"""A local Gemini API (generateContent, streamGenerateContent?alt=sse, batchEmbedContents), chosen by
the `x-goog-api-key` a channel sends:

  gemini-ok       text answer (a functionCall when tools are given, JSON when JSON is asked for);
                  usage with thinking tokens
  gemini-think    also a thought part first
  gemini-safety   finishReason SAFETY          gemini-blocked  200 without candidates
  gemini-dead     400 API key not valid
"""
import ujson
from tornado.web import Application, RequestHandler

WORDS = ["Ciao", " from", " Gemini", "."]
THOUGHT = "Thinking about it."
CALL_ARGS = {"city": "Rome"}
USAGE = {"promptTokenCount": 30, "candidatesTokenCount": 12, "thoughtsTokenCount": 8, "totalTokenCount": 50}


class GeminiState:
    def __init__(self):
        self.requests = []    # (version, model, action, query, headers, body)


class GeminiHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    async def post(self, version, model, action):
        body = ujson.loads(self.request.body)
        key = self.request.headers.get("x-goog-api-key", "")
        self.state.requests.append((version, model, action, self.request.query, dict(self.request.headers), body))
        if key == "gemini-dead":
            self.set_status(400)
            return self.finish({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                          "status": "INVALID_ARGUMENT"}})
        if action == "batchEmbedContents":
            return self.finish({"embeddings": [{"values": [0.5, float(i)]} for i, _ in enumerate(body["requests"])]})
        if key == "gemini-blocked":
            return self.finish({"promptFeedback": {"blockReason": "SAFETY"}})
        finish = "SAFETY" if key == "gemini-safety" else "STOP"
        parts = self.parts(key, body)
        if action == "streamGenerateContent":
            return await self.stream(parts, finish)
        self.finish({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish,
                                     "index": 0}], "usageMetadata": USAGE, "responseId": "resp-1"})

    def parts(self, key, body):
        parts = [{"text": THOUGHT, "thought": True}] if key == "gemini-think" else []
        if body.get("tools"):
            name = body["tools"][0]["functionDeclarations"][0]["name"]
            return parts + [{"functionCall": {"name": name, "args": CALL_ARGS}}]
        if (body.get("generationConfig") or {}).get("responseMimeType") == "application/json":
            return parts + [{"text": '{"answer": 42}'}]
        return parts + [{"text": w} for w in WORDS]

    async def stream(self, parts, finish):
        self.set_header("Content-Type", "text/event-stream")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}],
                     "usageMetadata": USAGE if last else {"promptTokenCount": USAGE["promptTokenCount"]}}
            if last:
                chunk["candidates"][0]["finishReason"] = finish
            self.write(b"data: " + ujson.dumps(chunk).encode() + b"\r\n\r\n")
            await self.flush()
        self.finish()


def make_gemini_app(state: GeminiState) -> Application:
    return Application([(r"/(v1|v1beta)/models/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)",
                         GeminiHandler, {"state": state})])
