"""/v1: the OpenAI-compatible relay routes."""
import time

from handlers.base import RelayCallBase, RelayHandler
from services.errors import RelayError
from services.relay import parse_call


class RelayCallHandler(RelayCallBase):
    """POST /v1/chat/completions, /v1/completions, /v1/embeddings."""

    async def post(self):
        self.check_size()
        call = parse_call(self.request.path, self.request.body, self.caller, self.request_id,
                          self.request.remote_ip)
        await self.run(lambda sink: self.services.relay.handle(call, sink))


class ModelsHandler(RelayHandler):
    """GET /v1/models: the models this key may use."""

    access = {"GET": "key"}

    def get(self):
        token, user = self.caller.token, self.caller.user
        models = self.services.routing.models_for(token.group or user.group)
        if token.models:
            models = [m for m in models if m in token.models]
        now = int(time.time())
        data = [{"id": m, "object": "model", "created": now, "owned_by": "tollgate"} for m in models]
        self.write_json({"object": "list", "data": data})


class RelayNotFound(RelayHandler):
    access = {verb: "public" for verb in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def prepare(self):
        raise RelayError(404, f"Unknown API route {self.request.method} {self.request.path}.", "route_not_found",
                         "invalid_request_error")


routes = [
    (r"/v1/chat/completions", RelayCallHandler),
    (r"/v1/completions", RelayCallHandler),
    (r"/v1/embeddings", RelayCallHandler),
    (r"/v1/models", ModelsHandler),
]

fallback_routes = [(r"/v1/.*", RelayNotFound)]
