"""The types of the request fields Tollgate reads or converts, checked before anything is charged.

Only what the providers' own APIs refuse is refused here (a number where a list belongs, a message that
is not an object), so a request that passes the check is one the conversions to Claude and Gemini can
read; values and unknown fields are left for the upstream to judge.
"""
from services.errors import RelayError

CHAT_NUMBERS = ("max_tokens", "max_completion_tokens", "n", "temperature", "top_p", "top_k", "seed",
                "presence_penalty", "frequency_penalty")
MESSAGES_NUMBERS = ("temperature", "top_p", "top_k")
NUMBER_TYPES = (int, float)


def check_chat(body: dict):
    """An OpenAI chat completions request. (On the hot path: the usual message costs two type checks.)"""
    for index, message in enumerate(body["messages"]):
        if type(message) is not dict or type(message.get("role")) is not str:
            _require(isinstance(message, dict), f"messages[{index}]", "an object")
            _require(False, f"messages[{index}].role", "a string")
        content = message.get("content")
        if content is not None and type(content) is not str:
            _check_content(content, f"messages[{index}].content")
        if "tool_calls" in message:
            _optional_list_of_objects(message["tool_calls"], f"messages[{index}].tool_calls")
    for name in ("tools", "functions"):
        if name in body:
            _optional_list_of_objects(body[name], name)
    if "stop" in body:
        _check_stop(body["stop"], "stop")
    _require(body.get("response_format") is None or isinstance(body["response_format"], dict),
             "response_format", "an object")
    _check_numbers(body, CHAT_NUMBERS)


def check_messages(body: dict):
    """An Anthropic Messages request (POST /v1/messages)."""
    for index, message in enumerate(body["messages"]):
        where = f"messages[{index}]"
        _require(isinstance(message, dict), where, "an object")
        _require(isinstance(message.get("role"), str), f"{where}.role", "a string")
        _check_content(message.get("content"), f"{where}.content")
    _check_content(body.get("system"), "system")
    _optional_list_of_objects(body.get("tools"), "tools")
    stop = body.get("stop_sequences")
    _require(stop is None or isinstance(stop, list) and all(isinstance(s, str) for s in stop),
             "stop_sequences", "a list of strings")
    _require(body.get("metadata") is None or isinstance(body["metadata"], dict), "metadata", "an object")
    _check_numbers(body, MESSAGES_NUMBERS)


def check_embeddings(body: dict):
    value = body["input"]
    _require(isinstance(value, (str, list)), "input", "a string or a list")


def _check_content(content, where):
    """None, a string, or a list of parts, each an object with a string `type` (and a string `text`)."""
    if content is None or isinstance(content, str):
        return
    _require(isinstance(content, list), where, "a string or a list of parts")
    for index, part in enumerate(content):
        _require(isinstance(part, dict) and isinstance(part.get("type"), str), f"{where}[{index}]",
                 "an object with a string `type`")
        if "text" in part:
            _require(isinstance(part["text"], str), f"{where}[{index}].text", "a string")
        if "image_url" in part:
            _require(isinstance(part["image_url"], (dict, str)), f"{where}[{index}].image_url",
                     "an object or a string")
        if part["type"] in ("image", "document") and "source" in part:   # (a search result's is a string)
            _require(isinstance(part["source"], dict), f"{where}[{index}].source", "an object")
        if "content" in part:      # a tool result holds content of its own
            _check_content(part["content"], f"{where}[{index}].content")


def _optional_list_of_objects(value, where):
    _require(value is None or isinstance(value, list) and all(isinstance(v, dict) for v in value),
             where, "a list of objects")


def _check_stop(value, where):
    _require(value is None or isinstance(value, str)
             or isinstance(value, list) and all(isinstance(s, str) for s in value), where,
             "a string or a list of strings")


def _check_numbers(body, names):
    for name in names:
        value = body.get(name)
        if value is not None and type(value) not in NUMBER_TYPES:   # type(): True is not a number here
            _require(False, name, "a number")


def _require(ok: bool, where: str, what: str):
    if not ok:
        raise RelayError(400, f"`{where}` must be {what}.", "invalid_request_field", "invalid_request_error",
                         where)
