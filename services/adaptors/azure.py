"""Azure OpenAI: OpenAI's wire format behind per-deployment URLs and an `api-key` header.

A call for model M goes to {base}/openai/deployments/{M without dots}/{endpoint}?api-version=V, where
V is the channel's own (config `api_version`, or `other` as One API stores it) or the default setting.
Azure does not allow dots in deployment names, so operators name `gpt-3.5-turbo`'s deployment
`gpt-35-turbo`; answers and streams are OpenAI's and are read as such.
"""
from urllib.parse import quote

from services.adaptors.openai import OpenAIAdaptor

CHANNEL_TYPES = (3,)
DEFAULT_API_VERSION = "2024-10-21"


class AzureAdaptor(OpenAIAdaptor):
    default_api_version = DEFAULT_API_VERSION   # replaced by the AZURE_API_VERSION setting at start-up

    def build(self, channel, call):
        url, headers, body = super().build(channel, call)
        headers.pop("Authorization", None)
        headers.pop("OpenAI-Organization", None)
        headers["api-key"] = channel.key
        model = (channel.model_mapping or {}).get(call.model) or call.model
        deployment = quote(model.replace(".", ""), safe="")
        endpoint = self.upstream_path(call).removeprefix("/v1/")
        base = (channel.base_url or "").rstrip("/")
        return f"{base}/openai/deployments/{deployment}/{endpoint}?api-version={self.api_version(channel)}", \
            headers, body

    def api_version(self, channel) -> str:
        config = channel.config or {}
        version = config.get("api_version") or config.get("other") or self.default_api_version
        return quote(str(version).strip(), safe="")


ADAPTOR = AzureAdaptor()
