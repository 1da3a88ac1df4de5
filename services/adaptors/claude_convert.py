"""OpenAI chat ⇄ Anthropic Messages: the request going up and the whole answer coming back."""
import time

import ujson

from services.usage import Usage

DEFAULT_MAX_TOKENS = 8192
THINKING_SUFFIX = "-thinking"
MIN_THINKING_MAX_TOKENS = 1280
EMPTY_TEXT = "..."    # Anthropic refuses empty turns; One API fills them with this
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "refusal": "content_filter", "pause_turn": "stop"}


# OpenAI → Anthropic ---------------------------------------------------------------------------
def to_messages_request(body: dict, model: str) -> dict:
    system, messages = _messages(body.get("messages") or [])
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    request = {"model": model, "messages": messages, "max_tokens": max_tokens}
    if system:
        request["system"] = system
    for name in ("temperature", "top_p", "top_k", "stream"):
        if body.get(name) is not None:
            request[name] = body[name]
    if isinstance(request.get("temperature"), (int, float)):
        request["temperature"] = min(request["temperature"], 1)   # Anthropic's range is 0..1
    stop = body.get("stop")
    if stop:
        request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if isinstance(body.get("user"), str):
        request["metadata"] = {"user_id": body["user"]}
    _tools(body, request)
    if model.endswith(THINKING_SUFFIX):
        _thinking(request)
    return request


def _thinking(request):
    request["model"] = request["model"][:-len(THINKING_SUFFIX)]
    request["max_tokens"] = max(request["max_tokens"], MIN_THINKING_MAX_TOKENS)
    request["thinking"] = {"type": "enabled", "budget_tokens": int(request["max_tokens"] * 0.8)}
    request["temperature"] = 1          # extended thinking requires it
    request.pop("top_p", None)
    request.pop("top_k", None)


def _messages(messages):
    system, out = [], []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
            continue
        role, blocks = _turn(role, message)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": EMPTY_TEXT}]})
    return "\n".join(s for s in system if s), out


def _turn(role, message):
    if role in ("tool", "function"):
        tool_id = message.get("tool_call_id") or message.get("name") or ""
        return "user", [{"type": "tool_result", "tool_use_id": tool_id,
                         "content": text_of(message.get("content")) or EMPTY_TEXT}]
    blocks = _content(message.get("content"))
    if role == "assistant":
        calls = list(message.get("tool_calls") or [])
        if isinstance(message.get("function_call"), dict):
            calls.append({"id": "call_legacy", "function": message["function_call"]})
        blocks += [_tool_use(c) for c in calls if isinstance(c, dict)]
        return "assistant", blocks or [{"type": "text", "text": EMPTY_TEXT}]
    return "user", blocks or [{"type": "text", "text": EMPTY_TEXT}]


def _tool_use(call):
    function = call.get("function") or {}
    try:
        arguments = ujson.loads(function.get("arguments") or "{}")
    except ValueError:
        arguments = {}
    return {"type": "tool_use", "id": call.get("id") or "", "name": function.get("name") or "",
            "input": arguments if isinstance(arguments, dict) else {}}


def _content(content):
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                blocks.append({"type": "image", "source": image_source(url)})
    return blocks


def image_source(url: str) -> dict:
    """A data: URL becomes inline base64; any other URL Anthropic fetches itself."""
    if url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        return {"type": "base64", "media_type": header.split(";")[0] or "image/png", "data": data}
    return {"type": "url", "url": url}


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content
                         if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    return ""


def _tools(body, request):
    functions = [t.get("function") for t in body.get("tools") or () if isinstance(t, dict)]
    functions += [f for f in body.get("functions") or () if isinstance(f, dict)]
    tools = [{"name": f.get("name", ""), "description": f.get("description", ""),
              "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
             for f in functions if isinstance(f, dict)]
    if not tools:
        return
    request["tools"] = tools
    choice = body.get("tool_choice", body.get("function_call"))
    if choice == "required":
        request["tool_choice"] = {"type": "any"}
    elif choice == "none":
        request["tool_choice"] = {"type": "none"}
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        request["tool_choice"] = {"type": "tool", "name": name} if name else {"type": "auto"}
    else:
        request["tool_choice"] = {"type": "auto"}
    if body.get("parallel_tool_calls") is False:
        request["tool_choice"]["disable_parallel_tool_use"] = True


# Anthropic → OpenAI ---------------------------------------------------------------------------
def usage(raw) -> Usage:
    """Anthropic's input_tokens excludes cached tokens; OpenAI's prompt_tokens includes them."""
    if not isinstance(raw, dict):
        return None
    read = _int(raw.get("cache_read_input_tokens"))
    creation = _int(raw.get("cache_creation_input_tokens"))
    return Usage(_int(raw.get("input_tokens")) + read + creation, _int(raw.get("output_tokens")), read, creation)


def finish_reason(stop_reason):
    return STOP_REASONS.get(stop_reason, stop_reason) if stop_reason else None


def tool_call(block: dict, index: int) -> dict:
    return {"index": index, "id": block.get("id", ""), "type": "function",
            "function": {"name": block.get("name", ""), "arguments": ujson.dumps(block.get("input") or {})}}


def to_chat_completion(payload: dict) -> dict:
    texts, reasoning, calls = [], [], []
    for block in payload.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
        elif kind == "tool_use":
            calls.append(tool_call(block, len(calls)))
    message = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    found = usage(payload.get("usage")) or Usage()
    return {"id": payload.get("id", ""), "object": "chat.completion", "created": int(time.time()),
            "model": payload.get("model", ""),
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(payload.get("stop_reason"))}],
            "usage": found.to_openai()}


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
