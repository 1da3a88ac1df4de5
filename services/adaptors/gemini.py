"""Google Gemini (generateContent): OpenAI chat and embeddings requests converted to Gemini's format
and the answers (whole or streamed) converted back.

URL {base}/{version}/models/{model}:generateContent, :streamGenerateContent?alt=sse when streaming,
:batchEmbedContents for embeddings; version from the channel config `api_version`, else v1beta; the key
goes in `x-goog-api-key`.
"""
from urllib.parse import quote

import ujson

from services.adaptors import gemini_convert as convert
from services.adaptors.common import unsupported
from services.adaptors.gemini_stream import GeminiStreamMeter
from services.user_content import web_image_urls

CHANNEL_TYPES = (24,)
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_VERSION = "v1beta"
HARM_CATEGORIES = ("HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                   "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY")


class GeminiAdaptor:
    # Gemini's own default blocks some answers a gateway's clients expect; the operator chooses
    # (GEMINI_SAFETY_SETTING, applied at start-up).
    safety_threshold = "BLOCK_NONE"

    def build(self, channel, call):
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        version = (channel.config or {}).get("api_version") or DEFAULT_VERSION
        model = (channel.model_mapping or {}).get(call.model) or call.model
        prefix = f"{base}/{quote(str(version), safe='')}/models/{quote(model, safe='')}"
        headers = {"x-goog-api-key": channel.key, "Content-Type": "application/json"}
        if call.kind == "chat":
            body = convert.to_generate_request(call.body, model, call.web_images)
            body["safetySettings"] = [{"category": c, "threshold": self.safety_threshold} for c in HARM_CATEGORIES]
            url = f"{prefix}:streamGenerateContent?alt=sse" if call.stream else f"{prefix}:generateContent"
        elif call.kind == "embeddings":
            body, url = convert.to_embed_request(call.body, model), f"{prefix}:batchEmbedContents"
        else:
            raise unsupported(call.kind)
        return url, headers, ujson.dumps(body, ensure_ascii=False, escape_forward_slashes=False).encode()

    async def prepare(self, call, content, sizes=None):
        """Gemini's fileData takes only files uploaded to Gemini: images at other web addresses are
        downloaded (within the download limits) and sent inline. `sizes`, when given, gets their sizes."""
        if call.kind != "chat":
            return
        urls = [u for u in web_image_urls(call.body["messages"])
                if not convert.is_gemini_file(u) and u not in call.web_images]
        if urls:
            call.web_images.update(await content.inline_images(urls, sizes))

    def response_body(self, call, payload, raw: bytes) -> bytes:
        if call.kind == "embeddings":
            answer = convert.to_embeddings(payload, call.model, call.prompt_estimate)
        else:
            answer = convert.to_chat_completion(payload, call.model)
        return ujson.dumps(answer, ensure_ascii=False, escape_forward_slashes=False).encode()

    def usage(self, payload):
        return convert.usage(payload.get("usageMetadata")) if isinstance(payload, dict) else None

    def stream_meter(self, call):
        return GeminiStreamMeter(call.model, call.wants_usage)


ADAPTOR = GeminiAdaptor()
