"""The upstream client's short set-up path, against a real local server: bodies byte for byte, the
headers the relay reads, what it refuses, time limits and many calls at once."""
import asyncio
import time

import pytest
import tornado.web

from services.upstream import NO_RESPONSE, Upstream
from tests.conftest import serve


class Echo(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "application/x-echo")
        self.write(self.request.body)

    def get(self):
        if self.request.path == "/echo-get":
            self.redirect("/echo-get-target")
        else:
            self.write(b"got")


class Never(tornado.web.RequestHandler):
    """Reads the request and never answers."""
    seen = 0
    arrived = None      # an asyncio.Event a test may set

    async def post(self):
        Never.seen += 1
        if Never.arrived is not None:
            Never.arrived.set()
        await asyncio.Event().wait()


@pytest.fixture
def echo(io_loop):
    server, base = serve(io_loop, tornado.web.Application([(r"/echo.*", Echo), (r"/never", Never)]))
    yield base
    server.stop()


@pytest.mark.gen_test
async def test_a_post_goes_byte_for_byte_and_the_relayed_headers_come_back(echo):
    upstream = Upstream(10, 5, 30)
    body = bytes(range(256)) * 10         # every byte value, NULs included
    response = await upstream.fetch(f"{echo}/echo", "POST", {"Authorization": "Bearer sk-up"}, body)
    assert response.status == 200 and response.body == body
    assert response.headers["Content-Type"] == "application/x-echo"
    assert response.headers["Content-Length"] == str(len(body))
    redirected = await upstream.fetch(f"{echo}/echo-get", "GET")
    assert redirected.status == 200 and redirected.body == b"got"      # redirects are followed
    upstream.close()


@pytest.mark.gen_test
async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(echo):
    upstream = Upstream(10, 5, 30)
    response = await upstream.fetch(f"{echo}/echo", "POST", {"Authorization": "Bearer x\r\nX-Evil: 1"}, b"{}")
    assert response.status == NO_RESPONSE and "line break" in response.error
    upstream.close()


@pytest.mark.gen_test
async def test_a_response_larger_than_the_limit_fails_the_call(echo):
    upstream = Upstream(10, 5, 30)
    upstream.client.max_body_size = 1000
    response = await upstream.fetch(f"{echo}/echo", "POST", {}, b"x" * 5000)
    assert response.status == NO_RESPONSE and "max_body_size" in response.error
    upstream.close()


@pytest.mark.gen_test
async def test_a_call_that_gets_no_answer_ends_at_its_time_limit(echo):
    upstream = Upstream(10, 5, 30)
    started = time.monotonic()
    response = await upstream.fetch(f"{echo}/never", "POST", {}, b"{}", timeout=0.5)
    assert response.status == NO_RESPONSE and "timed out" in response.error
    assert 0.5 <= time.monotonic() - started < 5
    upstream.close()


@pytest.mark.gen_test
async def test_many_calls_at_once_and_in_a_row_share_kept_alive_connections(echo):
    upstream = Upstream(20, 5, 30)
    bodies = [f"call {i}".encode() for i in range(100)]
    responses = await asyncio.gather(*[upstream.fetch(f"{echo}/echo", "POST", {}, body) for body in bodies])
    assert [r.body for r in responses] == bodies
    for body in bodies[:20]:
        assert (await upstream.fetch(f"{echo}/echo", "POST", {}, body)).body == body
    # at most one connection per handle, and libcurl's own wake-up eventfd, all parked between calls
    assert len(upstream.client._watch.watched) <= 21 and set(upstream.client._watch.watched.values()) == {0}
    upstream.close()
    assert upstream.client._watch.watched == {}          # closed: none of its sockets is watched


@pytest.mark.gen_test
async def test_a_cancelled_stream_ends_at_once_and_frees_its_handle_for_the_next_call(echo):
    upstream = Upstream(1, 5, 30)       # one handle: the second call waits for the first to let go
    stream = upstream.open_stream(f"{echo}/never", "POST", body=b"{}")
    waiting = asyncio.ensure_future(upstream.fetch(f"{echo}/echo", "POST", body=b"next"))

    stream.cancel_now()
    assert await stream.next_chunk(5) is None
    response = await asyncio.wait_for(waiting, 5)
    assert response.status == 200 and response.body == b"next"
    await stream.wait_headers(5)
    assert (stream.status, stream.error) == (NO_RESPONSE, "aborted")
    upstream.close()


@pytest.mark.gen_test
async def test_a_stream_cancelled_while_waiting_for_a_handle_never_reaches_the_upstream(echo):
    upstream = Upstream(1, 5, 30)
    Never.seen, Never.arrived = 0, asyncio.Event()
    running = upstream.open_stream(f"{echo}/never", "POST", body=b"{}")
    queued = upstream.open_stream(f"{echo}/never", "POST", body=b"{}")
    await Never.arrived.wait()
    queued.cancel_now()
    running.cancel_now()             # the handle is free: the queue moves on

    await queued.wait_headers(5)
    assert (queued.status, queued.error) == (NO_RESPONSE, "aborted")
    after = await upstream.fetch(f"{echo}/echo", "POST", body=b"after")   # the server saw all before this
    assert after.body == b"after" and Never.seen == 1
    Never.arrived = None
    upstream.close()
