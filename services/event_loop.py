"""Tornado's IOLoop on the asyncio loop, with a client connection's read watch kept between requests.

Tornado stops watching a connection for reads each time a read is done and watches it again a moment later, to
notice a hang-up while the request is handled: a stop and a start for every request on a kept-alive
connection. On uvloop each pair costs a new poll handle and about seven system calls. Here a stopped read
watch is only parked: it stays with the loop, its events are not handed on, and watching again costs nothing.
Should a parked connection turn readable (a client that sends its next request early, or hangs up) the watch
is removed then, once, and added again when Tornado asks for it, so nothing is lost: the data or the hang-up
is still there.

Tornado removes a connection's handler before it closes the socket, and that removes a parked watch
too, so a parked watch never outlives its socket (another socket may get the same number at once)."""
from tornado.ioloop import IOLoop
from tornado.platform.asyncio import AsyncIOLoop, AsyncIOMainLoop


class ParkedReads:
    """The overrides, for either of Tornado's asyncio IOLoops (`self.readers` holds parked fds too)."""
    def initialize(self, **kwargs):
        super().initialize(**kwargs)
        self.parked = set()

    def update_handler(self, fd, events):
        fd = self.split_fd(fd)[0]
        if events & IOLoop.READ:
            self.parked.discard(fd)
        elif fd in self.readers:
            self.parked.add(fd)
            events |= IOLoop.READ     # for the base class: the watch stays
        super().update_handler(fd, events)

    def remove_handler(self, fd):
        self.parked.discard(self.split_fd(fd)[0])
        super().remove_handler(fd)

    def _handle_events(self, fd, events):
        if fd in self.parked and events == IOLoop.READ:
            self.parked.discard(fd)
            self.readers.discard(fd)
            self.selector_loop.remove_reader(fd)
            return
        super()._handle_events(fd, events)


class ParkingMainLoop(ParkedReads, AsyncIOMainLoop):
    """The IOLoop of the running asyncio loop (server.py creates it before anything asks for one)."""


class ParkingLoop(ParkedReads, AsyncIOLoop):
    """An IOLoop with an asyncio loop of its own (the tests)."""
