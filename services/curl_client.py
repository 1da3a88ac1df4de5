"""Tornado's libcurl client with a shorter set-up for the calls Tollgate makes most, and a shorter way
to the event loop.

Tornado's own set-up sets some forty libcurl options per request and parses every response header line
in Python. For a plain GET or POST without proxy, client certificate or custom CA (every relay call),
this client sets only what such a call needs and leaves response headers to libcurl: the two the relay
reads, Content-Type and Content-Length, are taken from libcurl once the response is complete (streamed
calls read them at their first chunk, see services/upstream.py). Any other request goes through Tornado's
set-up unchanged.

A streamed call hands each chunk to its streaming callback right inside libcurl's write callback, so the
callback must do no more than queue the chunk (services/upstream.py's does). Tornado's own client queues
chunks itself and delivers them from the loop a moment later, a loop callback per chunk.

libcurl asks, a few times per request, to watch a socket or to be called back after a delay. Tornado
answers through its IOLoop wrappers and schedules even "call me now" and "no timer" as timers; this
client hands timers straight to the asyncio loop underneath, which costs about a tenth of the client's
time per request, and watches sockets through an epoll set of its own (services/socket_watch.py), which
spares uvloop a new poll handle per request.
"""
import pycurl
from tornado.curl_httpclient import CurlAsyncHTTPClient
from tornado.escape import utf8

from services.socket_watch import READ, WRITE, SocketWatch

USER_AGENT = "Mozilla/5.0 (compatible; pycurl)"      # what Tornado's set-up sends
WEB_PROTOCOLS = pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS
# Always sent empty, which tells libcurl to leave them out: "Expect: 100-continue" stalls uploads on
# servers that do not answer it, and "Pragma: no-cache" is not ours to add.
QUIET_HEADERS = [b"Expect:", b"Pragma:"]
_EPOLL_EVENTS = {pycurl.POLL_IN: READ, pycurl.POLL_OUT: WRITE, pycurl.POLL_INOUT: READ | WRITE}


def _lean(proxy) -> bool:
    # The request as built (Tornado wraps it to fill in its defaults; unset here means Tornado's default,
    # which this client does not change).
    request = proxy.request
    return (request.method in ("GET", "POST") and request.header_callback is None and not request.proxy_host
            and request.auth_username is None and request.client_cert is None and request.client_key is None
            and request.ca_certs is None and request.validate_cert is not False and request.allow_ipv6 is not False
            and request.ssl_options is None)


class LeanCurlClient(CurlAsyncHTTPClient):
    def initialize(self, *args, **kwargs):
        super().initialize(*args, **kwargs)
        self._watch = SocketWatch(self.io_loop.asyncio_loop, self._sockets_ready)

    # The event loop --------------------------------------------------------------------------------
    def _set_timeout(self, msecs: int):
        """libcurl's timer: -1 removes it, 0 asks to be called at once."""
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        loop = self.io_loop.asyncio_loop
        if msecs == 0:
            self._timeout = loop.call_soon(self._handle_timeout)
        elif msecs > 0:
            self._timeout = loop.call_later(msecs / 1000, self._handle_timeout)

    def _handle_socket(self, event: int, fd: int, multi, data):
        """Watch `fd` as libcurl asks (services/socket_watch.py: a socket let go of stays parked)."""
        self._watch.want(fd, _EPOLL_EVENTS.get(event, 0))

    def _sockets_ready(self, ready):
        """Let libcurl act on every ready socket, then hand out what finished, once for them all."""
        socket_action = self._multi.socket_action
        for fd, events in ready:
            action = (pycurl.CSELECT_IN if events & READ else 0) | (pycurl.CSELECT_OUT if events & WRITE else 0)
            while True:
                try:
                    code, _ = socket_action(fd, action)
                except pycurl.error as e:
                    code = e.args[0]
                if code != pycurl.E_CALL_MULTI_PERFORM:
                    break
        self._finish_pending_requests()

    def abort(self, curl):
        """End a running transfer now, as failed ("aborted"); its handle serves the next request. Only
        from the loop, never from inside a libcurl callback. (Cheaper than a progress callback that
        libcurl would call again and again for every transfer, only to hear "go on".)"""
        if curl.info is None:
            return      # already finished
        self._finish(curl, pycurl.E_ABORTED_BY_CALLBACK, "aborted")
        self._process_queue()

    def close(self):
        self._watch.close()
        super().close()

    # Requests --------------------------------------------------------------------------------------
    def _curl_setup_request(self, curl, request, buffer, headers):
        if not _lean(request):
            return super()._curl_setup_request(curl, request, buffer, headers)
        curl.info["lean"] = True
        lines = [b"%s: %s" % (name.encode("ascii"), value.encode("latin-1"))
                 for name, value in request.headers.get_all() if name not in ("Expect", "Pragma")]
        if any(b"\r" in line or b"\n" in line for line in lines):
            raise ValueError("a request header holds a line break")
        setopt = curl.setopt
        setopt(pycurl.URL, request.url)
        setopt(pycurl.HTTPHEADER, lines + QUIET_HEADERS)
        setopt(pycurl.PROTOCOLS, WEB_PROTOCOLS)
        setopt(pycurl.REDIR_PROTOCOLS, WEB_PROTOCOLS)
        setopt(pycurl.NOSIGNAL, 1)
        setopt(pycurl.WRITEFUNCTION, self._writer(curl, request, buffer))
        setopt(pycurl.FOLLOWLOCATION, request.follow_redirects)
        setopt(pycurl.MAXREDIRS, request.max_redirects)
        setopt(pycurl.CONNECTTIMEOUT_MS, int(1000 * request.connect_timeout))
        setopt(pycurl.TIMEOUT_MS, int(1000 * request.request_timeout))
        setopt(pycurl.USERAGENT, request.user_agent or USER_AGENT)
        if request.decompress_response:
            setopt(pycurl.ENCODING, "gzip,deflate")
        if request.method == "POST":
            setopt(pycurl.POSTFIELDS, utf8(request.body or b""))
        if request.prepare_curl_callback is not None:
            request.prepare_curl_callback(curl)

    def _writer(self, curl, request, buffer):
        """libcurl's write callback. Writing less than given fails the transfer (past max_body_size)."""
        limit, info, deliver = self.max_body_size, curl.info, request.streaming_callback
        if deliver is None:
            def write(chunk: bytes) -> int:
                if buffer.tell() + len(chunk) > limit:
                    info["body_too_large"] = True
                    return 0
                return buffer.write(chunk)
            return write
        received = 0

        def write_through(chunk: bytes) -> int:
            nonlocal received
            received += len(chunk)
            if received > limit:
                info["body_too_large"] = True
                return 0
            deliver(chunk)
            return len(chunk)
        return write_through

    def _finish(self, curl, curl_error=None, curl_message=None):
        info = curl.info
        if info.get("lean"):
            content_type = curl.getinfo(pycurl.CONTENT_TYPE)
            if content_type:
                info["headers"]["Content-Type"] = content_type
            length = curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD)
            if length >= 0:
                info["headers"]["Content-Length"] = str(int(length))
        super()._finish(curl, curl_error, curl_message)
