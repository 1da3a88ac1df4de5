"""POST /v1/messages: Anthropic's Messages API for Claude clients (key in x-api-key or Authorization),
relayed as is to Claude channels and converted for OpenAI-compatible ones; errors in Anthropic's shape."""
from handlers.base import HandlerSink, RelayHandler
from services.adaptors.messages_convert import error_body
from services.claude_native import parse_messages_call
from services.errors import RelayError


class ClaudeMessagesHandler(RelayHandler):
    access = {"POST": "key"}
    sink = None

    async def prepare(self):
        headers = self.request.headers
        authorization = headers.get("Authorization") or (
            f"Bearer {headers['x-api-key']}" if headers.get("x-api-key") else "")
        self.caller = await self.services.keys.resolve(authorization, self.request.remote_ip)

    async def post(self):
        limit = self.services.settings.max_request_body_mb * 1024 * 1024
        if len(self.request.body) > limit:
            raise RelayError(413, f"The request body is larger than {limit // (1024 * 1024)} MiB.",
                             "request_too_large", "invalid_request_error")
        call = parse_messages_call(self.request.body, self.request.headers, self.caller, self.request_id,
                                   self.request.remote_ip)
        self.sink = HandlerSink(self)
        self.services.inflight.enter(self.sink)
        try:
            await self.services.relay.handle(call, self.sink)
        finally:
            self.services.inflight.leave(self.sink)

    def on_connection_close(self):
        if self.sink is not None:
            self.sink.closed()

    def write_error(self, status_code, **kwargs):
        info = kwargs.get("exc_info")
        error = info[1] if info else None
        if isinstance(error, RelayError):
            status_code, message = error.status, error.message
        else:
            message = f"The gateway failed to handle this request (request id: {self.request_id})."
        self.write_json(error_body(status_code, message), status_code)


routes = [(r"/v1/messages", ClaudeMessagesHandler)]
