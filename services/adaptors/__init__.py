"""One module per upstream protocol, behind one small interface:

- `build(channel, call) -> (url, headers, body)`: the upstream request for a relay call
- `usage(payload) -> Usage | None`: usage from a whole JSON response
- `stream_meter(call) -> meter`: reads each SSE event, says what to pass on, and totals usage
"""
from services.adaptors import azure, claude, gemini, openai

ADAPTORS = {}


def register(channel_types, adaptor):
    for channel_type in channel_types:
        ADAPTORS[channel_type] = adaptor


def adaptor_for(channel_type: int):
    return ADAPTORS.get(channel_type, openai.ADAPTOR)


register(openai.CHANNEL_TYPES, openai.ADAPTOR)
register(azure.CHANNEL_TYPES, azure.ADAPTOR)
register(claude.CHANNEL_TYPES, claude.ADAPTOR)
register(gemini.CHANNEL_TYPES, gemini.ADAPTOR)


def configure(settings):
    """Apply the settings that adaptors read (called once when the services are built)."""
    azure.ADAPTOR.default_api_version = settings.azure_api_version
    gemini.ADAPTOR.safety_threshold = settings.gemini_safety_setting
