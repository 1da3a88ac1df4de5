"""The upstream client's socket watch (services/socket_watch.py) on real sockets and the test's loop:
parked sockets, sockets closed while parked and their numbers given to new ones; and through the
upstream client, connections kept alive between calls and connections the server closes after each."""
import os
import socket

import pytest
import tornado.web

from services.socket_watch import READ, WRITE, SocketWatch
from services.upstream import Upstream
from tests.conftest import serve
from tests.loop_support import Arrivals, loop_turns


@pytest.fixture
def watch(io_loop):
    calls = Arrivals()
    watch = SocketWatch(io_loop.asyncio_loop, calls.record)
    watch.calls = calls
    yield watch
    watch.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.mark.gen_test
async def test_a_watched_socket_is_handed_on_with_what_it_was_watched_for(watch, pair):
    a, b = pair
    watch.want(a.fileno(), READ)
    b.send(b"x")
    assert await watch.calls.next() == [(a.fileno(), READ)]
    watch.want(a.fileno(), READ | WRITE)          # a socket with room to write is writable at once
    assert await watch.calls.next() == [(a.fileno(), READ | WRITE)]


@pytest.mark.gen_test
async def test_a_parked_socket_stays_in_the_set_and_is_taken_up_again(watch, pair):
    a, b = pair
    watch.want(a.fileno(), READ)
    watch.want(a.fileno(), 0)
    assert watch.watched == {a.fileno(): 0}
    watch.want(a.fileno(), READ)
    assert watch.watched == {a.fileno(): READ}
    b.send(b"x")
    assert await watch.calls.next() == [(a.fileno(), READ)]


@pytest.mark.gen_test
async def test_a_parked_socket_that_turns_readable_is_dropped_and_not_handed_on(watch, pair):
    a, b = pair
    watch.want(a.fileno(), READ)
    watch.want(a.fileno(), 0)
    b.send(b"x")
    await loop_turns()
    assert watch.calls.seen == [] and watch.watched == {}
    watch.want(a.fileno(), READ)                  # taken up again: the data is still there
    assert await watch.calls.next() == [(a.fileno(), READ)]


@pytest.mark.gen_test
async def test_a_socket_closed_while_parked_and_its_number_given_to_another_is_watched_anew(watch, pair):
    a, _ = pair
    number = a.fileno()
    watch.want(number, READ)
    watch.want(number, 0)
    a.close()                                     # the kernel takes it out of the set
    c, d = socket.socketpair()
    if c.fileno() != number:                      # another socket under the same number
        os.dup2(c.fileno(), number)
        c.close()
        c = socket.socket(fileno=number)
    try:
        watch.want(number, READ)
        d.send(b"x")
        assert await watch.calls.next() == [(number, READ)]
    finally:
        c.close()
        d.close()


@pytest.mark.gen_test
async def test_a_hang_up_is_handed_on_as_readable(watch, pair):
    a, b = pair
    watch.want(a.fileno(), READ)
    b.close()
    assert await watch.calls.next() == [(a.fileno(), READ)]


@pytest.mark.gen_test
async def test_closed_the_watch_hands_on_nothing_more(watch, pair):
    a, b = pair
    watch.want(a.fileno(), READ)
    watch.close()
    b.send(b"x")
    await loop_turns()
    assert watch.calls.seen == [] and watch.watched == {}
    watch.close()                                 # twice is harmless


class Closing(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Connection", "close")    # the server closes the connection after each answer
        self.write(self.request.body)


class Echo(tornado.web.RequestHandler):
    def post(self):
        self.write(self.request.body)


def peer_port(fd: int) -> int:
    """The port a TCP socket is connected to; 0 for anything else."""
    copy = os.dup(fd)
    try:
        sock = socket.socket(fileno=copy)
    except OSError:          # not a socket
        os.close(copy)
        return 0
    with sock:
        try:
            return sock.getpeername()[1] if sock.family == socket.AF_INET else 0
        except OSError:      # not connected
            return 0


@pytest.fixture
def upstream_base(io_loop):
    server, base = serve(io_loop, tornado.web.Application([(r"/closing", Closing), (r"/echo", Echo)]))
    yield base
    server.stop()


@pytest.mark.gen_test
async def test_calls_in_a_row_keep_their_connection_parked_between_them(upstream_base):
    upstream = Upstream(4, 5, 30)
    for i in range(10):
        response = await upstream.fetch(f"{upstream_base}/echo", "POST", {}, f"call {i}".encode())
        assert response.status == 200 and response.body == f"call {i}".encode()
    watched = upstream.client._watch.watched
    # one connection to the server (besides libcurl's own wake-up fd), and all of them parked
    assert [peer_port(fd) for fd in watched if peer_port(fd)] == [int(upstream_base.rsplit(":", 1)[1])]
    assert set(watched.values()) == {0}
    upstream.close()
    assert upstream.client._watch.watched == {}


@pytest.mark.gen_test
async def test_calls_to_a_server_that_closes_every_connection_each_get_their_answer(upstream_base):
    """Each call's socket is closed by libcurl while parked and the next one usually gets its number."""
    upstream = Upstream(1, 5, 30)
    for i in range(20):
        response = await upstream.fetch(f"{upstream_base}/closing", "POST", {}, f"call {i}".encode(), timeout=5)
        assert (response.status, response.body) == (200, f"call {i}".encode())
    upstream.close()
