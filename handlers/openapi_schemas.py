"""Schemas for /api/openapi.json: small builders and the shapes the management API answers with."""


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required=(), **properties) -> dict:
    """A JSON object schema; a property given as a string is a plain type ("integer", "string", ...)."""
    props = {k: ({"type": v} if isinstance(v, str) else v) for k, v in properties.items()}
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def array(items) -> dict:
    return {"type": "array", "items": {"type": items} if isinstance(items, str) else items}


def page_of(item) -> dict:
    return obj(items=array(item), total="integer", page="integer", page_size="integer")


def envelope(data) -> dict:
    return {"allOf": [ref("Envelope"), obj(data=data if data is not None else {"nullable": True})]}


SCHEMAS = {
    "Envelope": obj(["success", "message"], success="boolean", message="string", data={}),
    "Error": obj(["success", "message"], success={"type": "boolean", "enum": [False]}, message="string"),
    "User": obj(id="integer", username="string", display_name="string", role="integer", status="integer",
                email="string", quota="integer", used_quota="integer", request_count="integer", group="string",
                aff_code="string", inviter_id="integer", created_time="integer",
                default_password="boolean"),
    "UserInput": obj(id="integer", username="string", password="string", display_name="string", group="string",
                     email="string", quota="integer", role="integer"),
    "Token": obj(id="integer", user_id="integer", name="string", key="string", status="integer",
                 created_time="integer", accessed_time="integer", expired_time="integer",
                 remain_quota="integer", unlimited_quota="boolean", used_quota="integer", models="string",
                 subnet="string", group="string", billing_mode={"type": "string", "enum": ["ratio", "per_call"]}),
    "Channel": obj(id="integer", type="integer", name="string", key="string", status="integer", base_url="string",
                   models="string", group="string", model_mapping="string", priority="integer", weight="integer",
                   used_quota="integer", balance="number", auto_ban="integer", test_model="string",
                   openai_organization="string", auto_enable_interval="integer", status_reason="string"),
    "Log": obj(id="string", type="integer", created_at="integer", user_id="integer", username="string",
               token_name="string", model_name="string", channel="integer", quota="integer",
               prompt_tokens="integer", completion_tokens="integer", content="string", is_stream="boolean",
               group="string"),
    "Redemption": obj(id="integer", key="string", name="string", quota="integer", status="integer",
                      user_id="integer", created_time="integer", redeemed_time="integer", used_user_id="integer"),
    "Option": obj(key="string", value="string"),
    "MjTask": obj(id="integer", mj_id="string", action="string", status="string", progress="string",
                  prompt="string", image_url="string", fail_reason="string", quota="integer"),
}
