"""A local OpenAI upstream for images, speech, transcriptions and moderations, chosen by key:

  key-ok     answers          key-500   500 server error          key-400   400 bad request
"""
import ujson
from tornado.httputil import parse_body_arguments
from tornado.web import Application, RequestHandler

AUDIO_CHUNKS = [b"ID3\x03audio-1", b"audio-2", b"audio-3"]
TRANSCRIPT = "the quick brown fox jumps over the lazy dog"
REPORTED_SECONDS = 42.3      # the duration verbose_json answers state


class MediaState:
    def __init__(self):
        self.requests = []     # (path, headers, body or multipart fields)


class MediaHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    async def post(self, endpoint):
        key = self.request.headers.get("Authorization", "").removeprefix("Bearer ")
        if endpoint.startswith("audio/trans"):
            fields, files = {}, {}
            parse_body_arguments(self.request.headers["Content-Type"], self.request.body, fields, files)
            body = {k: v[0].decode() for k, v in fields.items()}
            body["file_size"] = len(files["file"][0]["body"])
        else:
            body = ujson.loads(self.request.body)
        self.state.requests.append((self.request.path, dict(self.request.headers), body))
        if key in ("key-500", "key-400"):
            self.set_status(int(key[4:]))
            return self.finish({"error": {"message": f"mock failure {key}", "type": "server_error", "code": None}})
        await getattr(self, endpoint.replace("/", "_"))(body)

    async def images_generations(self, body):
        self.finish({"created": 1, "data": [{"url": f"https://img.example/{i}.png"} for i in range(body.get("n", 1))]})

    async def audio_speech(self, body):
        self.set_header("Content-Type", "audio/mpeg")
        for chunk in AUDIO_CHUNKS:
            self.write(chunk)
            await self.flush()
        self.finish()

    async def audio_transcriptions(self, body):
        if body.get("response_format") == "text":
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            return self.finish(TRANSCRIPT)
        if body.get("response_format") == "verbose_json":
            return self.finish({"task": "transcribe", "language": "english", "duration": REPORTED_SECONDS,
                                "text": TRANSCRIPT})
        self.finish({"text": TRANSCRIPT})

    audio_translations = audio_transcriptions

    async def moderations(self, body):
        self.finish({"id": "modr-1", "model": body["model"], "results": [{"flagged": False}]})


def make_media_app(state: MediaState) -> Application:
    return Application([(r"/v1/(images/generations|audio/speech|audio/transcriptions|audio/translations|moderations)",
                         MediaHandler, {"state": state})])
