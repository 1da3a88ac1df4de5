"""One API / New API rows → Tollgate documents, one function per table.

Both forks share the table layout with a few differences (New API: `deleted_at` soft deletes,
`model_limits` on tokens, `auto_ban`/`other_info` on channels, log `use_time` in seconds). Channel
type numbers differ between the forks; Tollgate numbers them as New API does.
"""
import time

import ujson

from models.channels import STATUS_MANUALLY_DISABLED, Channel
from models.documents import to_doc
from models.tokens import NEVER, Token
from models.users import User
from services.channels import CHANNEL_TYPES
from services.keys import mask

ONEAPI, NEWAPI = "oneapi", "newapi"
CUSTOM = 8

# One API type → (New API / Tollgate type, One API's name for it).
ONEAPI_TYPES = {
    1: (1, "OpenAI"), 2: (CUSTOM, "API2D"), 3: (3, "Azure"), 4: (CUSTOM, "CloseAI"), 5: (CUSTOM, "OpenAI-SB"),
    6: (CUSTOM, "OpenAIMax"), 7: (CUSTOM, "OhMyGPT"), 8: (CUSTOM, "Custom"), 9: (CUSTOM, "Ails"),
    10: (CUSTOM, "AIProxy"), 11: (11, "PaLM"), 12: (CUSTOM, "API2GPT"), 13: (CUSTOM, "AIGC2D"),
    14: (14, "Anthropic"), 15: (15, "Baidu"), 16: (16, "Zhipu"), 17: (17, "Ali"), 18: (18, "Xunfei"),
    19: (19, "360"), 20: (CUSTOM, "OpenRouter"), 21: (21, "AIProxyLibrary"), 22: (22, "FastGPT"),
    23: (23, "Tencent"), 24: (24, "Gemini"), 25: (CUSTOM, "Moonshot"), 26: (CUSTOM, "Baichuan"),
    27: (35, "Minimax"), 28: (CUSTOM, "Mistral"), 29: (CUSTOM, "Groq"), 30: (CUSTOM, "Ollama"),
    31: (CUSTOM, "LingYiWanWu"), 32: (CUSTOM, "StepFun"), 33: (33, "AwsClaude"), 34: (49, "Coze"),
    35: (34, "Cohere"), 36: (CUSTOM, "DeepSeek"), 37: (39, "Cloudflare"), 38: (None, "DeepL"),
    39: (CUSTOM, "TogetherAI"), 40: (45, "Doubao"), 41: (None, "Novita"), 42: (41, "VertexAI"),
    43: (None, "Proxy"), 44: (CUSTOM, "SiliconFlow"), 45: (CUSTOM, "xAI"), 46: (56, "Replicate"),
    47: (46, "BaiduV2"), 48: (None, "XunfeiV2"), 49: (None, "AliBailian"), 50: (CUSTOM, "OpenAICompatible"),
    51: (None, "GeminiOpenAICompatible"),
}
# New API types that speak OpenAI's protocol at {base}/v1/...: relayed as Custom channels.
NEWAPI_OPENAI_COMPATIBLE = {4: "Ollama", 6: "OpenAIMax", 7: "OhMyGPT", 9: "AILS", 10: "AIProxy", 12: "API2GPT",
                            13: "AIGC2D", 20: "OpenRouter", 25: "Moonshot", 31: "LingYiWanWu", 40: "SiliconFlow",
                            42: "Mistral", 43: "DeepSeek", 47: "Xinference", 48: "xAI"}
# The base URL One API uses for a type when a channel leaves it empty (needed once the type is Custom).
DEFAULT_BASE_URLS = {
    "API2D": "https://oa.api2d.net", "CloseAI": "https://api.closeai-proxy.xyz",
    "OpenAI-SB": "https://api.openai-sb.com", "OpenAIMax": "https://api.openaimax.com",
    "OhMyGPT": "https://api.ohmygpt.com", "Ails": "https://api.caipacity.com", "AILS": "https://api.caipacity.com",
    "AIProxy": "https://api.aiproxy.io", "API2GPT": "https://api.api2gpt.com", "AIGC2D": "https://api.aigc2d.com",
    "OpenRouter": "https://openrouter.ai/api", "Moonshot": "https://api.moonshot.cn",
    "Baichuan": "https://api.baichuan-ai.com", "Mistral": "https://api.mistral.ai",
    "Groq": "https://api.groq.com/openai", "Ollama": "http://localhost:11434",
    "LingYiWanWu": "https://api.lingyiwanwu.com", "StepFun": "https://api.stepfun.com",
    "DeepSeek": "https://api.deepseek.com", "TogetherAI": "https://api.together.xyz",
    "SiliconFlow": "https://api.siliconflow.cn", "xAI": "https://api.x.ai",
}


def detect_flavor(token_columns: set, channel_columns: set) -> str:
    if "model_limits_enabled" in token_columns or "auto_ban" in channel_columns:
        return NEWAPI
    return ONEAPI


def _int(value, default=0) -> int:
    if value is None or value == "":
        return default
    return int(value)


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _csv(value) -> list:
    return list(dict.fromkeys(v.strip() for v in _text(value).replace("\n", ",").split(",") if v.strip()))


def _json_object(value):
    """A JSON object stored as text; None when the text is empty or not an object."""
    text = _text(value).strip()
    if not text:
        return None
    try:
        parsed = ujson.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def deleted(row) -> bool:
    """New API soft-deletes with `deleted_at`; One API marks users deleted with status 3."""
    return bool(row.get("deleted_at"))


def deleted_user(row) -> bool:
    return deleted(row) or _int(row.get("status"), 1) == 3


# Users -----------------------------------------------------------------------------------------

def user_doc(row, keyring):
    if deleted_user(row):
        return None
    access_token = _text(row.get("access_token")).strip()
    user = User(
        id=_int(row["id"]), username=_text(row["username"]), password_hash=_text(row.get("password")),
        display_name=_text(row.get("display_name")), role=_int(row.get("role"), 1),
        status=1 if _int(row.get("status"), 1) == 1 else 2, email=_text(row.get("email")),
        quota=_int(row.get("quota")), used_quota=_int(row.get("used_quota")),
        request_count=_int(row.get("request_count")), group=_text(row.get("group")) or "default",
        aff_code=_text(row.get("aff_code")), inviter_id=_int(row.get("inviter_id")),
        access_token_hash=keyring.hash(access_token) if access_token else "",
        created_time=_int(row.get("created_time")) or int(time.time()),
    )
    doc = to_doc(user)
    for binding in ("github_id", "wechat_id", "lark_id", "oidc_id", "telegram_id", "linux_do_id"):
        if _text(row.get(binding)):
            doc[binding] = _text(row.get(binding))
    return doc


# Tokens ----------------------------------------------------------------------------------------

def token_doc(row, keyring, flavor):
    """A token whose key keeps working: stored as a keyed hash and an encrypted copy, never in plain."""
    if deleted(row):
        return None
    key = _text(row["key"]).strip().removeprefix("sk-")
    if not key:
        return None
    status = _int(row.get("status"), 1)
    if flavor == NEWAPI:
        limited = bool(_int(row.get("model_limits_enabled")))
        models = _csv(row.get("model_limits")) if limited else []
        if limited and not models:
            status = 2      # "limits on, nothing allowed": keep it unusable rather than open to every model
        subnet = ",".join(_csv(row.get("allow_ips")))
    else:
        models, subnet = _csv(row.get("models")), ",".join(_csv(row.get("subnet")))
    token = Token(
        id=_int(row["id"]), user_id=_int(row.get("user_id")), name=_text(row.get("name")),
        key_hash=keyring.hash(key), key_enc=keyring.encrypt(key), key_mask=mask(key),
        status=status if status in (1, 2, 3, 4) else 2, created_time=_int(row.get("created_time")),
        accessed_time=_int(row.get("accessed_time")), expired_time=_int(row.get("expired_time"), NEVER),
        remain_quota=_int(row.get("remain_quota")), unlimited_quota=bool(_int(row.get("unlimited_quota"))),
        used_quota=_int(row.get("used_quota")), models=models, subnet=subnet, group=_text(row.get("group")),
        billing_mode="per_call" if _int(row.get("billing_enabled")) else "ratio",
    )
    return to_doc(token)


# Channels --------------------------------------------------------------------------------------

def channel_type(source_type: int, flavor: str):
    """(Tollgate type, name of the source type, whether Tollgate can relay it)."""
    if flavor == ONEAPI:
        mapped, name = ONEAPI_TYPES.get(source_type, (None, f"type {source_type}"))
    elif source_type in NEWAPI_OPENAI_COMPATIBLE:
        mapped, name = CUSTOM, NEWAPI_OPENAI_COMPATIBLE[source_type]
    else:
        mapped, name = source_type, CHANNEL_TYPES.get(source_type, f"type {source_type}")
    if mapped is None:
        return CUSTOM, name, False
    return mapped, name, mapped in CHANNEL_TYPES


def _channel_config(row, tollgate_type) -> dict:
    config = _json_object(row.get("config")) or {}
    other = _text(row.get("other"))
    if other:
        config["other"] = other
        if tollgate_type == 3:
            config.setdefault("api_version", other)     # One API kept Azure's api-version here
    for name in ("system_prompt", "tag", "setting", "param_override", "status_code_mapping"):
        value = _text(row.get(name))
        if value:
            config[name] = _json_object(value) if name in ("setting", "param_override", "status_code_mapping") \
                and _json_object(value) is not None else value
    return config


def channel_doc(row, flavor):
    source_type = _int(row.get("type"))
    tollgate_type, type_name, supported = channel_type(source_type, flavor)
    base_url = _text(row.get("base_url")).strip()
    if tollgate_type == CUSTOM and not base_url:
        base_url = DEFAULT_BASE_URLS.get(type_name, "")
    status = _int(row.get("status"), 1)
    other_info = _json_object(row.get("other_info")) or {}
    channel = Channel(
        id=_int(row["id"]), type=tollgate_type, name=_text(row.get("name")), key=_text(row.get("key")).strip(),
        status=status if status in (1, 2, 3) else STATUS_MANUALLY_DISABLED, base_url=base_url,
        models=_csv(row.get("models")), groups=_csv(row.get("group")) or ["default"],
        model_mapping={k: v for k, v in (_json_object(row.get("model_mapping")) or {}).items()
                       if isinstance(k, str) and isinstance(v, str)},
        priority=_int(row.get("priority")), weight=_int(row.get("weight")),
        created_time=_int(row.get("created_time")), test_time=_int(row.get("test_time")),
        response_time=_int(row.get("response_time")), balance=float(row.get("balance") or 0),
        balance_updated_time=_int(row.get("balance_updated_time")), used_quota=_int(row.get("used_quota")),
        auto_ban=bool(_int(row.get("auto_ban"), 1)), status_reason=_text(other_info.get("status_reason")),
        status_time=_int(other_info.get("status_time")), test_model=_text(row.get("test_model")),
        openai_organization=_text(row.get("openai_organization")),
        auto_enable_interval=_int(row.get("tested_time")), config=_channel_config(row, tollgate_type),
    )
    channel.config["source_type"] = source_type
    if not supported:
        channel.status = STATUS_MANUALLY_DISABLED
        channel.status_reason = f"imported: {type_name} channels cannot be relayed by Tollgate yet"
    return to_doc(channel), supported


# Options, redemptions, logs --------------------------------------------------------------------

def option_doc(row):
    return {"_id": _text(row["key"]), "value": _text(row.get("value"))}


def redemption_doc(row):
    if deleted(row):
        return None
    doc = {"_id": _int(row["id"]), "key": _text(row["key"]), "name": _text(row.get("name")),
           "quota": _int(row.get("quota"), 100), "status": _int(row.get("status"), 1),
           "user_id": _int(row.get("user_id")), "created_time": _int(row.get("created_time")),
           "redeemed_time": _int(row.get("redeemed_time")), "count": _int(row.get("count"), 1)}
    if row.get("used_user_id"):
        doc["used_user_id"] = _int(row["used_user_id"])
    return doc


def log_doc(row, flavor):
    if flavor == NEWAPI or "use_time" in row:
        use_time_ms = _int(row.get("use_time")) * 1000
    else:
        use_time_ms = _int(row.get("elapsed_time"))
    doc = {"_id": _int(row["id"]), "type": _int(row.get("type")), "created_at": _int(row.get("created_at")),
           "user_id": _int(row.get("user_id")), "username": _text(row.get("username")),
           "token_id": _int(row.get("token_id")), "token_name": _text(row.get("token_name")),
           "content": _text(row.get("content")), "quota": _int(row.get("quota")),
           "model_name": _text(row.get("model_name")), "channel_id": _int(row.get("channel_id")),
           "prompt_tokens": _int(row.get("prompt_tokens")),
           "completion_tokens": _int(row.get("completion_tokens")),
           "is_stream": bool(_int(row.get("is_stream"))), "use_time_ms": use_time_ms,
           "request_id": _text(row.get("request_id")), "group": _text(row.get("group")),
           "ip": _text(row.get("ip"))}
    other = _json_object(row.get("other"))
    if other:
        doc["other"] = other
    return doc
