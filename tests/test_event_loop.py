"""The IOLoop that keeps a connection's read watch when Tornado stops reading it for a moment
(services/event_loop.py): on real sockets, and through a real Tornado server over a kept-alive connection."""
import socket

import pytest
import tornado.web
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

from services.event_loop import ParkingLoop
from tests.conftest import serve
from tests.loop_support import Arrivals, loop_turns

READ, ERROR = IOLoop.READ, IOLoop.ERROR


def reader(arrivals):
    """A handler that reads what arrived and records the events it was called with."""
    def handle(fileobj, events):
        fileobj.recv(100)
        arrivals.record(events)
    return handle


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def parked(io_loop, pair):
    """A socket watched for reads whose watch Tornado has just stopped: (socket, its peer, what arrived)."""
    a, b = pair
    events = Arrivals()
    io_loop.add_handler(a, reader(events), READ | ERROR)
    io_loop.update_handler(a, ERROR)
    yield a, b, events
    io_loop.remove_handler(a)


def test_the_tests_run_on_the_parking_loop(io_loop):
    assert isinstance(io_loop, ParkingLoop)


@pytest.mark.gen_test
async def test_a_read_watch_stopped_and_started_again_stays_with_the_loop(io_loop, parked):
    a, b, events = parked
    assert a.fileno() in io_loop.parked and a.fileno() in io_loop.readers
    io_loop.update_handler(a, READ | ERROR)
    assert io_loop.parked == set()
    b.send(b"x")
    assert await events.next() == READ


@pytest.mark.gen_test
async def test_a_parked_watch_whose_socket_turns_readable_is_removed_and_nothing_is_lost(io_loop, parked):
    a, b, events = parked
    b.send(b"x")
    await loop_turns()
    assert events.seen == [] and a.fileno() not in io_loop.readers and io_loop.parked == set()
    io_loop.update_handler(a, READ | ERROR)     # watched again: the data is still there
    assert await events.next() == READ


@pytest.mark.gen_test
async def test_removing_the_handler_removes_a_parked_watch(io_loop, parked):
    a, b, events = parked
    io_loop.remove_handler(a)
    assert io_loop.parked == set() and a.fileno() not in io_loop.readers
    b.send(b"x")
    await loop_turns()
    assert events.seen == []


class Quick(tornado.web.RequestHandler):
    def post(self):
        self.write(b"quick:" + self.request.body)


@pytest.mark.gen_test
async def test_a_kept_alive_connection_is_watched_once_for_all_its_requests(io_loop):
    """Tornado stops and restarts the read watch of a connection for every request; on the loop below
    (asyncio's selector loop in the tests) a watch removed and added again is a new registration."""
    server, url = serve(io_loop, tornado.web.Application([(r"/quick", Quick)]))
    stream = IOStream(socket.socket())
    await stream.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    registrations = io_loop.asyncio_loop._selector.get_map()
    first = None
    for i in range(20):
        await stream.write(b"POST /quick HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d" % (i % 10))
        head = await stream.read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and await stream.read_bytes(7) == b"quick:%d" % (i % 10)
        served = {fd: registrations[fd] for fd in io_loop.handlers if fd != stream.socket.fileno()
                  and fd in registrations and fd not in {s.fileno() for s in server._sockets.values()}}
        assert len(served) == 1                  # the server's side of the connection
        first = first or served
        assert served.keys() == first.keys() and all(served[fd] is first[fd] for fd in first)
    stream.close()
    server.stop()
