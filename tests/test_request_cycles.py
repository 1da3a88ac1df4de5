"""A finished relay call leaves nothing to the garbage collector: its handler, request, sink and upstream
stream are freed as soon as it is done. (Reference cycles among them kept every finished call alive until
the next collection, which then walked all of them: 3-6 % of the gateway's CPU under load.)"""
import gc

import pytest

from tests.relay_support import sse_data

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
SERVER_SIDE = {"RelayCallHandler", "HandlerSink", "HTTPServerRequest", "Caller", "UpstreamStream"}


@pytest.mark.gen_test
async def test_finished_calls_leave_no_reference_cycles(gateway, upstream):
    key = await gateway.make_token(await gateway.make_user(quota=1_000_000))
    await gateway.make_channel(upstream.url)
    assert (await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200
    await gateway.settled()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)      # whatever a collection finds unreachable stays in gc.garbage
    try:
        plain = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)
        streamed = await gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, "stream": True}, key=key)
        await gateway.settled()
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert plain.status == 200 and sse_data(streamed.body)[-1] == "[DONE]"
    assert not left & SERVER_SIDE
