"""The upstream client's sockets, watched through an epoll set of their own that the event loop watches
as one file.

libcurl asks to watch a connection's socket when a transfer starts on it and to stop when the transfer ends,
so every upstream call would add and remove a watch. On uvloop each such pair costs a new poll handle and
about seven system calls (a test registration, removals, an io_uring submission). Here a socket libcurl lets
go of stays in the set, parked: its events are ignored, and the next transfer on the same kept-alive
connection takes it up again with a single `epoll_ctl`. A parked socket that libcurl closes leaves the set by
itself (the kernel drops a closed file from every epoll set); when libcurl opens another under the same
number, taking it up finds the number gone from the set and adds the new socket. A parked socket that turns
readable (the server closed the idle connection) is dropped at once, so it cannot wake the loop again.

Linux only (epoll), as Tollgate is."""
import select

READ, WRITE = select.EPOLLIN, select.EPOLLOUT
_TROUBLE = select.EPOLLHUP | select.EPOLLERR


class SocketWatch:
    def __init__(self, loop, on_ready):
        """`on_ready([(fd, events), ...])` is called from `loop` with the sockets that are ready, `events`
        holding READ and WRITE as they were asked for (a hang-up or an error counts as both)."""
        self._loop = loop
        self._on_ready = on_ready
        self._epoll = select.epoll()
        self._wanted = {}      # fd -> READ|WRITE asked for; 0: parked, still in the set, its events ignored
        loop.add_reader(self._epoll.fileno(), self._ready)

    @property
    def watched(self) -> dict:
        """Every socket in the set, parked ones (0) included."""
        return dict(self._wanted)

    def want(self, fd: int, events: int):
        """Watch `fd` for `events` (READ, WRITE or both); 0 parks it."""
        old = self._wanted.get(fd)
        if not events:
            if old:
                self._wanted[fd] = 0
            return
        if old == events:
            return
        if old is None:
            self._epoll.register(fd, events)
        else:       # a parked socket too, even for the same events: it may be another socket by now
            try:
                self._epoll.modify(fd, events)
            except FileNotFoundError:    # closed while parked: this is another socket under that number
                self._epoll.register(fd, events)
        self._wanted[fd] = events

    def _ready(self):
        ready = []
        for fd, got in self._epoll.poll(0):
            wanted = self._wanted.get(fd, 0)
            events = wanted & (got | (READ | WRITE if got & _TROUBLE else 0))
            if events:
                ready.append((fd, events))
            elif not wanted:
                self._drop(fd)
        if ready:
            self._on_ready(ready)

    def _drop(self, fd: int):
        self._wanted.pop(fd, None)
        try:
            self._epoll.unregister(fd)
        except OSError:
            pass        # closed already: the kernel took it out

    def close(self):
        if self._epoll.closed:
            return
        self._loop.remove_reader(self._epoll.fileno())
        self._epoll.close()
        self._wanted.clear()
