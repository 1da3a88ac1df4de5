"""POST /v1/moderations: relayed like any text call, billed by the tokens of `input`."""
import dataclasses

import ujson

from services.errors import RelayError
from services.relay import RelayCall

DEFAULT_MODEL = "text-moderation-latest"


@dataclasses.dataclass
class ModerationCall(RelayCall):
    def count_prompt(self, tokenizer) -> int:
        return tokenizer.count_input(self.model, self.body.get("input"))


def parse_moderation_call(body: dict, caller, request_id: str, client_ip: str) -> ModerationCall:
    if not body.get("input"):
        raise RelayError(400, "`input` is required.", "missing_input", "invalid_request_error", "input")
    model = body.get("model") or DEFAULT_MODEL
    if not isinstance(model, str):
        raise RelayError(400, "`model` must be text.", "invalid_model", "invalid_request_error", "model")
    body = {**body, "model": model}
    raw = ujson.dumps(body, ensure_ascii=False).encode()
    return ModerationCall("/v1/moderations", "moderations", raw, body, model, False, False, caller, request_id,
                          client_ip)
