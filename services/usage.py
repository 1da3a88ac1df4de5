"""Token usage of one request, as reported by an upstream or counted here.

`prompt_tokens` is every input token, cached ones included (OpenAI's convention); `cached_tokens` and
`cache_creation_tokens` say how many of them were read from or written to the upstream's prompt cache,
so they can be priced with their own ratios. `reasoning_tokens` are part of `completion_tokens`.
"""
import dataclasses


@dataclasses.dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_openai(cls, usage):
        if not isinstance(usage, dict):
            return None
        prompt = _int(usage.get("prompt_tokens"))
        completion = _int(usage.get("completion_tokens"))
        if not completion and _int(usage.get("total_tokens")) > prompt:
            completion = _int(usage.get("total_tokens")) - prompt
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        # DeepSeek reports its cache hits in a field of its own.
        cached = _int(prompt_details.get("cached_tokens")) or _int(usage.get("prompt_cache_hit_tokens"))
        return cls(prompt, completion, min(cached, prompt), 0, _int(completion_details.get("reasoning_tokens")))

    def to_openai(self) -> dict:
        """The usage object of an OpenAI chat completion."""
        usage = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                 "total_tokens": self.prompt_tokens + self.completion_tokens}
        if self.cached_tokens or self.cache_creation_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens,
                                              "cache_creation_tokens": self.cache_creation_tokens}
        if self.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class ProducedText:
    """The text a stream produced, kept for counting its tokens when the upstream reports no usage.
    Thousands of open streams each keep one, so it is held in few strings: a new piece is joined with
    the string before it for as long as that string is not longer than the piece, as a binary counter
    carries. A text of n characters stays in about log2(n) strings, and each character is copied about
    log2(n) times."""

    __slots__ = ("_parts",)

    def __init__(self):
        self._parts = []

    def append(self, piece: str):
        parts = self._parts
        while parts and len(parts[-1]) <= len(piece):
            piece = parts.pop() + piece
        parts.append(piece)

    def extend(self, pieces):
        for piece in pieces:
            self.append(piece)

    def __str__(self) -> str:
        return "".join(self._parts)
