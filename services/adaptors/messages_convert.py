"""Anthropic Messages (from Claude clients) ⇄ OpenAI chat, for models served by OpenAI-compatible
channels: the request going up and the whole answer coming back (New API's rules: system → a system
message, tool_use → assistant tool_calls, tool_result → tool messages, stop_sequences → stop; finish
reasons and usage mapped back), and errors in Anthropic's shape."""
import ujson

from services.adaptors.claude_convert import text_of

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}


def error_body(status: int, message: str) -> dict:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}


# Anthropic → OpenAI ---------------------------------------------------------------------------
def to_chat_request(body: dict, model: str) -> dict:
    messages = []
    system = text_of(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or ():
        if isinstance(message, dict):
            messages.extend(_chat_messages(message))
    request = {"model": model, "messages": messages, "max_tokens": body.get("max_tokens")}
    for name in ("temperature", "top_p", "stream"):
        if body.get(name) is not None:
            request[name] = body[name]
    if body.get("stop_sequences"):
        request["stop"] = list(body["stop_sequences"])
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str) and user:
        request["user"] = user
    _tools(body, request)
    return request


def _chat_messages(message) -> list:
    role, content = message.get("role"), message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    if role == "assistant":
        return [_assistant(blocks)]
    # Tool answers become tool messages, which must follow the assistant's calls directly.
    out = [{"role": "tool", "tool_call_id": b.get("tool_use_id", ""), "content": _tool_result_text(b)}
           for b in blocks if b.get("type") == "tool_result"]
    parts = [p for p in map(_part, blocks) if p is not None]
    if parts:
        texts_only = all(p["type"] == "text" for p in parts)
        out.append({"role": "user", "content": "\n".join(p["text"] for p in parts) if texts_only else parts})
    return out


def _assistant(blocks) -> dict:
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = [{"id": b.get("id", ""), "type": "function",
              "function": {"name": b.get("name", ""), "arguments": ujson.dumps(b.get("input") or {})}}
             for b in blocks if b.get("type") == "tool_use"]
    message = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _part(block):
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        elif source.get("type") == "url":
            url = source.get("url", "")
        else:
            return None
        return {"type": "image_url", "image_url": {"url": url}}
    return None     # thinking blocks and other kinds have no OpenAI counterpart


def _tool_result_text(block) -> str:
    content = block.get("content")
    text = content if isinstance(content, str) else text_of(content)
    return f"Error: {text}" if block.get("is_error") else text


def _tools(body, request):
    tools = [{"type": "function", "function": {"name": t.get("name", ""), "description": t.get("description", ""),
                                               "parameters": t["input_schema"]}}
             for t in body.get("tools") or () if isinstance(t, dict) and isinstance(t.get("input_schema"), dict)]
    if not tools:
        return
    request["tools"] = tools
    choice = body.get("tool_choice") or {}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "any":
        request["tool_choice"] = "required"
    elif kind == "none":
        request["tool_choice"] = "none"
    elif kind == "tool" and choice.get("name"):
        request["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif kind == "auto":
        request["tool_choice"] = "auto"
    if isinstance(choice, dict) and choice.get("disable_parallel_tool_use"):
        request["parallel_tool_calls"] = False


# OpenAI → Anthropic ---------------------------------------------------------------------------
def stop_reason(finish_reason) -> str:
    return STOP_REASONS.get(finish_reason, "end_turn")


def message_id(upstream_id) -> str:
    upstream_id = str(upstream_id or "")
    return upstream_id if upstream_id.startswith("msg_") else "msg_" + upstream_id.removeprefix("chatcmpl-")


def usage_of(usage, prompt_estimate: int) -> dict:
    """Anthropic's input_tokens leaves out tokens read from the prompt cache (counted on their own)."""
    if usage is None:
        return {"input_tokens": prompt_estimate, "output_tokens": 0}
    result = {"input_tokens": max(usage.prompt_tokens - usage.cached_tokens, 0),
              "output_tokens": usage.completion_tokens}
    if usage.cached_tokens:
        result["cache_read_input_tokens"] = usage.cached_tokens
    return result


def tool_input(arguments) -> dict:
    try:
        parsed = ujson.loads(arguments or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def to_message(payload: dict, model: str, usage, prompt_estimate: int) -> dict:
    choice = (payload.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content = []
    if isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
        content.append({"type": "thinking", "thinking": message["reasoning_content"], "signature": ""})
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id", ""), "name": function.get("name", ""),
                        "input": tool_input(function.get("arguments"))})
    return {"id": message_id(payload.get("id")), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason(choice.get("finish_reason")), "stop_sequence": None,
            "usage": usage_of(usage, prompt_estimate)}
