"""POST /v1/messages: Anthropic's Messages API for Claude clients (key in x-api-key or Authorization),
relayed as is to Claude channels and converted for OpenAI-compatible ones; errors in Anthropic's shape."""
from handlers.base import RelayCallBase
from services.adaptors.messages_convert import error_body
from services.claude_native import parse_messages_call
from services.errors import RelayError


class ClaudeMessagesHandler(RelayCallBase):
    async def prepare(self):
        headers = self.request.headers
        authorization = headers.get("Authorization") or (
            f"Bearer {headers['x-api-key']}" if headers.get("x-api-key") else "")
        self.caller = await self.services.keys.resolve(authorization, self.request.remote_ip)

    async def post(self):
        self.check_size()
        call = parse_messages_call(self.request.body, self.request.headers, self.caller, self.request_id,
                                   self.request.remote_ip)
        await self.run(lambda sink: self.services.relay.handle(call, sink))

    def write_error(self, status_code, **kwargs):
        info = kwargs.get("exc_info")
        error = info[1] if info else None
        if isinstance(error, RelayError):
            status_code, message = error.status, error.message
        else:
            message = f"The gateway failed to handle this request (request id: {self.request_id})."
        self.write_json(error_body(status_code, message), status_code)


routes = [(r"/v1/messages", ClaudeMessagesHandler)]
