"""/v1 routes beyond chat: images, speech, transcriptions, moderations, one model, and the OpenAI
routes Tollgate does not implement (answered 501 in OpenAI's error shape)."""
import time

import ujson

from handlers.base import HandlerSink, RelayCallBase, RelayHandler
from services.errors import RelayError
from services.media import MediaRelay, media_call, parse_multipart
from services.moderation import parse_moderation_call


class MediaSink(HandlerSink):
    def begin_audio(self, content_type: str):
        self.started = True
        self.handler.set_header("Content-Type", content_type)


class _CallHandler(RelayCallBase):
    sink_class = MediaSink

    def json_body(self) -> dict:
        self.check_size()
        try:
            body = ujson.loads(self.request.body or b"")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RelayError(400, "The request body must be a JSON object.", "invalid_json", "invalid_request_error")
        return body

    def call(self, kind, body, model, raw=None):
        return media_call(self.request.path, kind, self.request.body if raw is None else raw, body, model,
                          self.caller, self.request_id, self.request.remote_ip)



class ImagesHandler(_CallHandler):
    async def post(self):
        body = self.json_body()
        call = self.call("images", body, str(body.get("model") or "dall-e-2"))
        await self.run(lambda sink: MediaRelay(self.services.relay).images(call, sink))


class SpeechHandler(_CallHandler):
    async def post(self):
        body = self.json_body()
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise RelayError(400, "The request must name a model.", "missing_model", "invalid_request_error", "model")
        call = self.call("speech", body, body["model"])
        await self.run(lambda sink: MediaRelay(self.services.relay).speech(call, sink))


class TranscriptionHandler(_CallHandler):
    """POST /v1/audio/transcriptions and /translations: a multipart upload relayed as it came."""

    async def post(self):
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise RelayError(400, "Send the audio as multipart/form-data.", "invalid_content_type",
                             "invalid_request_error")
        fields, upload = parse_multipart(content_type, self.request.body)
        if not fields.get("model"):
            raise RelayError(400, "The request must name a model.", "missing_model", "invalid_request_error", "model")
        if not upload:
            raise RelayError(400, "The request must include an audio `file`.", "missing_file",
                             "invalid_request_error", "file")
        call = self.call("transcription", {"model": fields["model"], "content_type": content_type}, fields["model"])
        response_format = fields.get("response_format", "json")
        await self.run(lambda sink: MediaRelay(self.services.relay).transcription(call, sink, response_format, upload))


class ModerationsHandler(_CallHandler):
    async def post(self):
        call = parse_moderation_call(self.json_body(), self.caller, self.request_id, self.request.remote_ip)
        await self.run(lambda sink: self.services.relay.handle(call, sink))


class ModelHandler(RelayHandler):
    """GET /v1/models/{model}: one model this key may use."""

    access = {"GET": "key", "DELETE": "key"}

    def get(self, model):
        token, user = self.caller.token, self.caller.user
        usable = model in self.services.routing.models_for(token.group or user.group)
        if not usable or (token.models and model not in token.models):
            raise RelayError(404, f"The model `{model}` does not exist or you do not have access to it.",
                             "model_not_found", "invalid_request_error", "model")
        self.write_json({"id": model, "object": "model", "created": int(time.time()), "owned_by": "tollgate"})

    def delete(self, model):
        raise not_implemented()


def not_implemented() -> RelayError:
    return RelayError(501, "API not implemented", "api_not_implemented", "tollgate_error")


class NotImplementedHandler(RelayHandler):
    access = {verb: "key" for verb in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    async def prepare(self):
        await super().prepare()
        raise not_implemented()


routes = [
    (r"/v1/images/generations", ImagesHandler),
    (r"/v1/audio/speech", SpeechHandler),
    (r"/v1/audio/(?:transcriptions|translations)", TranscriptionHandler),
    (r"/v1/moderations", ModerationsHandler),
    (r"/v1/models/([^/]+)", ModelHandler),
    (r"/v1/(?:files|fine_tuning|fine-tunes|assistants|threads|images/edits|images/variations|batches)(?:/.*)?",
     NotImplementedHandler),
]
