"""Helpers for the provider tests: local upstream fixtures and reading SSE answers."""
import ujson

from tests.conftest import serve


def start(io_loop, app):
    server, url = serve(io_loop, app)

    def stop():
        io_loop.run_sync(server.close_all_connections)
        server.stop()
    return url, stop


def sse_events(chunks) -> list:
    """The data payloads of an SSE answer, JSON-decoded except [DONE]."""
    text = b"".join(chunks).decode()
    events = []
    for block in text.strip().split("\n\n"):
        data = "\n".join(line[5:].strip() for line in block.split("\n") if line.startswith("data:"))
        events.append(data if data == "[DONE]" else ujson.loads(data))
    return events


async def user_and_key(gateway, quota=10_000_000, username="alice"):
    user = await gateway.make_user(username=username, quota=quota)
    return user, await gateway.make_token(user)
