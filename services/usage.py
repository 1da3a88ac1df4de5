"""Token usage of one request, as reported by an upstream or counted here."""
import dataclasses


@dataclasses.dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def from_openai(cls, usage):
        if not isinstance(usage, dict):
            return None
        prompt = _int(usage.get("prompt_tokens"))
        completion = _int(usage.get("completion_tokens"))
        if not completion and _int(usage.get("total_tokens")) > prompt:
            completion = _int(usage.get("total_tokens")) - prompt
        return cls(prompt, completion)


def _int(value) -> int:
    return value if isinstance(value, int) and value > 0 else 0
