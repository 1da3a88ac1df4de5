"""OpenAI chat / embeddings ⇄ Gemini generateContent / batchEmbedContents."""
import mimetypes
import time

import ujson

from services.adaptors.claude_convert import text_of
from services.adaptors.common import upstream_failed
from services.usage import Usage

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}     # anything else: content_filter
# Models from before system instructions: the system text becomes a user turn answered "Okay".
NO_SYSTEM_INSTRUCTION = ("gemini-pro", "gemini-1.0")
# Schema keywords Gemini's OpenAPI subset refuses.
DROPPED_SCHEMA_KEYS = {"additionalProperties", "title", "$schema", "default", "exclusiveMinimum",
                       "exclusiveMaximum", "$id", "$ref", "$defs", "definitions", "examples", "const"}
KEPT_STRING_FORMATS = {"enum", "date-time"}
GEMINI_FILES = "https://generativelanguage.googleapis.com/"


# OpenAI → Gemini ------------------------------------------------------------------------------
def to_generate_request(body: dict, model: str, images=None) -> dict:
    """`images`: url → (mime type, base64 data) of the web images, downloaded before."""
    system, contents = _contents(body.get("messages") or [], images or {})
    request = {"contents": contents}
    if system and model.startswith(NO_SYSTEM_INSTRUCTION):
        request["contents"] = [{"role": "user", "parts": [{"text": system}]},
                               {"role": "model", "parts": [{"text": "Okay"}]}] + contents
    elif system:
        request["systemInstruction"] = {"parts": [{"text": system}]}
    config = _generation_config(body)
    if config:
        request["generationConfig"] = config
    _tools(body, request)
    return request


def _generation_config(body):
    config = {}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"),
                           ("seed", "seed"), ("n", "candidateCount"), ("presence_penalty", "presencePenalty"),
                           ("frequency_penalty", "frequencyPenalty")):
        if body.get(source) is not None:
            config[target] = body[source]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        config["maxOutputTokens"] = limit
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = body.get("response_format") or {}
    if response_format.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            config["responseSchema"] = clean_schema(schema)
    return config


def _contents(messages, images):
    system, contents, tool_names = [], [], {}
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
            continue
        if role in ("tool", "function"):
            name = tool_names.get(message.get("tool_call_id")) or message.get("name") or ""
            parts = [{"functionResponse": {"name": name, "response": {"name": name,
                                                                       "content": _json_or_text(message.get("content"))}}}]
            role = "user"
        else:
            parts = _parts(message.get("content"), images)
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                tool_names[call.get("id")] = function.get("name", "")
                parts.append({"functionCall": {"name": function.get("name", ""),
                                               "args": _json_or_text(function.get("arguments") or "{}")}})
            role = "model" if role == "assistant" else "user"
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts or [{"text": ""}]})
    return "\n".join(s for s in system if s), contents


def _json_or_text(value):
    if isinstance(value, list):
        value = text_of(value)
    if isinstance(value, str):
        try:
            parsed = ujson.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def _parts(content, images):
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append({"text": part.get("text", "")})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                parts.append(_image(url, images))
    return parts


def _image(url: str, images) -> dict:
    if url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        return {"inlineData": {"mimeType": header.split(";")[0] or "image/png", "data": data}}
    if url in images:
        mime, data = images[url]
        return {"inlineData": {"mimeType": mime, "data": data}}
    return {"fileData": {"mimeType": mimetypes.guess_type(url.split("?")[0])[0] or "image/jpeg", "fileUri": url}}


def is_gemini_file(url: str) -> bool:
    """A file uploaded to Gemini (Files API) or Cloud Storage: the only addresses fileData takes."""
    return url.startswith((GEMINI_FILES, "gs://"))


def _tools(body, request):
    functions = [t.get("function") for t in body.get("tools") or () if isinstance(t, dict)]
    functions += [f for f in body.get("functions") or () if isinstance(f, dict)]
    declarations = []
    for function in functions:
        if not isinstance(function, dict):
            continue
        declaration = {"name": function.get("name", ""), "description": function.get("description", "")}
        parameters = function.get("parameters")
        if isinstance(parameters, dict) and parameters.get("properties"):
            declaration["parameters"] = clean_schema(parameters)   # Gemini refuses empty objects
        declarations.append(declaration)
    if not declarations:
        return
    request["tools"] = [{"functionDeclarations": declarations}]
    choice = body.get("tool_choice")
    if choice == "none":
        request["toolConfig"] = {"functionCallingConfig": {"mode": "NONE"}}
    elif choice == "required":
        request["toolConfig"] = {"functionCallingConfig": {"mode": "ANY"}}
    elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        request["toolConfig"] = {"functionCallingConfig": {"mode": "ANY",
                                                           "allowedFunctionNames": [choice["function"]["name"]]}}


def clean_schema(schema):
    """A JSON schema in the subset Gemini accepts, at every depth (anyOf/oneOf/allOf included)."""
    if isinstance(schema, list):
        return [clean_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {k: clean_schema(v) for k, v in schema.items() if k not in DROPPED_SCHEMA_KEYS}
    if cleaned.get("type") == "string" and cleaned.get("format") not in KEPT_STRING_FORMATS:
        cleaned.pop("format", None)
    if isinstance(schema.get("properties"), dict):
        cleaned["properties"] = {name: clean_schema(s) for name, s in schema["properties"].items()}
    return cleaned


def to_embed_request(body: dict, model: str) -> dict:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else [t for t in inputs or () if isinstance(t, str)]
    requests = []
    for text in texts:
        request = {"model": f"models/{model}", "content": {"parts": [{"text": text}]}}
        if body.get("dimensions"):
            request["outputDimensionality"] = body["dimensions"]
        requests.append(request)
    return {"requests": requests}


# Gemini → OpenAI ------------------------------------------------------------------------------
def usage(metadata) -> Usage:
    """Thinking tokens are output the model produced: they are billed as completion tokens."""
    if not isinstance(metadata, dict):
        return None
    thoughts = _int(metadata.get("thoughtsTokenCount"))
    prompt = _int(metadata.get("promptTokenCount"))
    return Usage(prompt, _int(metadata.get("candidatesTokenCount")) + thoughts,
                 min(_int(metadata.get("cachedContentTokenCount")), prompt), 0, thoughts)


def convert_parts(parts, call_ids) -> dict:
    """Message fields (content, reasoning_content, tool_calls) from one candidate's parts."""
    texts, thoughts, calls = [], [], []
    for part in parts or ():
        if "functionCall" in part:
            call = part["functionCall"]
            calls.append({"index": len(calls), "id": f"call_{next(call_ids)}", "type": "function",
                          "function": {"name": call.get("name", ""),
                                       "arguments": ujson.dumps(call.get("args") or {})}})
        elif "executableCode" in part:
            code = part["executableCode"]
            texts.append(f"\n```{str(code.get('language', '')).lower()}\n{code.get('code', '')}\n```\n")
        elif "codeExecutionResult" in part:
            texts.append(f"\n```output\n{part['codeExecutionResult'].get('output', '')}\n```\n")
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    fields = {}
    if texts:
        fields["content"] = "".join(texts)
    if thoughts:
        fields["reasoning_content"] = "".join(thoughts)
    if calls:
        fields["tool_calls"] = calls
    return fields


def finish_reason(reason, has_calls: bool):
    if not reason:
        return None
    if has_calls:
        return "tool_calls"
    return FINISH_REASONS.get(reason, "content_filter")


def to_chat_completion(payload: dict, model: str) -> dict:
    candidates = payload.get("candidates") or []
    if not candidates:
        reason = (payload.get("promptFeedback") or {}).get("blockReason") or "no candidates"
        raise upstream_failed(500, f"The upstream gave no answer ({reason}).", "no_candidates")
    call_ids = iter(range(1, 1 << 30))
    choices = []
    for position, candidate in enumerate(candidates):
        fields = convert_parts((candidate.get("content") or {}).get("parts"), call_ids)
        message = {"role": "assistant", "content": fields.pop("content", None if "tool_calls" in fields else ""),
                   **fields}
        choices.append({"index": candidate.get("index", position), "message": message,
                        "finish_reason": finish_reason(candidate.get("finishReason"), "tool_calls" in fields)})
    found = usage(payload.get("usageMetadata")) or Usage()
    return {"id": "chatcmpl-" + str(payload.get("responseId") or int(time.time() * 1000)),
            "object": "chat.completion", "created": int(time.time()), "model": model, "choices": choices,
            "usage": found.to_openai()}


def to_embeddings(payload: dict, model: str, prompt_tokens: int) -> dict:
    """Gemini reports no usage for embeddings: the local count (the one billed) is given instead."""
    data = [{"object": "embedding", "index": i, "embedding": e.get("values") or []}
            for i, e in enumerate(payload.get("embeddings") or ())]
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
