"""The shared upstream HTTP client: libcurl keeps upstream connections alive across requests.

`fetch` buffers a whole response; `open_stream` hands the body over chunk by chunk as it arrives and
can be cancelled, which stops the upstream transfer (used when the client goes away).
"""
import asyncio
import dataclasses

import pycurl
from tornado.httpclient import HTTPRequest
from tornado.httputil import HTTPHeaders

from services.curl_client import LeanCurlClient

# Status used when no HTTP answer came back at all (connection refused, timeout, aborted).
NO_RESPONSE = 599


@dataclasses.dataclass
class UpstreamResponse:
    status: int
    headers: HTTPHeaders
    body: bytes
    error: str = ""     # transport failure, when status is NO_RESPONSE


class Upstream:
    def __init__(self, max_clients: int, connect_timeout: float, relay_timeout: float):
        self.client = LeanCurlClient(force_instance=True, max_clients=max_clients)
        self.connect_timeout = connect_timeout
        self.relay_timeout = relay_timeout   # 0: no limit on the whole call

    def _request(self, url, method, headers, body, timeout=None, **callbacks) -> HTTPRequest:
        return HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=body,
            connect_timeout=self.connect_timeout,
            request_timeout=self.relay_timeout if timeout is None else timeout,
            decompress_response=True,
            allow_nonstandard_methods=True,
            **callbacks,
        )

    async def fetch(self, url, method="POST", headers=None, body=None, timeout=None) -> UpstreamResponse:
        """`timeout`: seconds for the whole call, when it must differ from RELAY_TIMEOUT."""
        try:
            response = await self.client.fetch(self._request(url, method, headers, body, timeout),
                                               raise_error=False)
        except Exception as exc:   # no HTTP answer at all: refused, reset, timed out
            return UpstreamResponse(NO_RESPONSE, HTTPHeaders(), b"", str(exc))
        return UpstreamResponse(response.code, response.headers, response.body or b"")

    def open_stream(self, url, method="POST", headers=None, body=None, timeout=None,
                    follow_redirects=True) -> "UpstreamStream":
        """`timeout`: seconds for the whole transfer, when it must differ from RELAY_TIMEOUT."""
        return UpstreamStream(self, url, method, headers, body, timeout, follow_redirects)

    def close(self):
        self.client.close()


class UpstreamStream:
    """One upstream response read chunk by chunk. `status` and `headers` are known once `wait_headers`
    returns; `next_chunk` gives body chunks in order and None at the end. (Slots and a plain list: a
    process may hold thousands of these.)"""

    __slots__ = ("status", "headers", "error", "buffered", "_chunks", "_cancelled", "_done", "_client", "_curl",
                 "_curl_info", "_waiter", "_give_up_at", "_timer", "_timer_at", "_head")

    def __init__(self, upstream: Upstream, url, method, headers, body, timeout=None, follow_redirects=True):
        self.status = 0
        self.headers = HTTPHeaders()
        self.error = ""
        self.buffered = 0
        self._chunks = []
        self._cancelled = False
        self._done = False
        self._client = upstream.client
        self._curl = self._curl_info = None    # libcurl's handle while this transfer owns it
        self._waiter = None                     # the future `next_chunk` waits on
        self._give_up_at = None                 # when that wait times out (None: no limit)
        self._timer = self._timer_at = None     # the timer that enforces it, and when it fires
        self._head = asyncio.get_running_loop().create_future()   # done: status and headers known
        request = upstream._request(
            url,
            method,
            headers,
            body,
            timeout,
            follow_redirects=follow_redirects,
            streaming_callback=self._on_chunk,
            prepare_curl_callback=self._own_handle,
        )
        # The fetch's future is not kept: its answer holds the request, whose callbacks hold this stream,
        # and that cycle would keep every finished stream alive until the garbage collector came by.
        upstream.client.fetch(request, raise_error=False).add_done_callback(self._on_done)

    def _own_handle(self, curl):
        """Called as the transfer starts on a handle: kept to read the head from and to abort the transfer
        by (`curl.info` tells whether the handle still serves this transfer)."""
        if self._cancelled:     # cancelled while it waited for a free handle: it never starts
            raise ConnectionAbortedError("cancelled before it started")
        self._curl, self._curl_info = curl, curl.info

    def _read_head(self):
        """Status and the headers the relay uses, read from libcurl once the first body chunk arrived
        (cheaper than a callback per header line; after redirects these are the final answer's)."""
        curl = self._curl
        if self._head.done() or curl is None or curl.info is not self._curl_info:
            return          # the transfer already ended: the whole response gives them (_on_done)
        self.status = int(curl.getinfo(pycurl.RESPONSE_CODE))
        content_type = curl.getinfo(pycurl.CONTENT_TYPE)
        if content_type:
            self.headers["Content-Type"] = content_type
        length = curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD)
        if length >= 0:
            self.headers["Content-Length"] = str(int(length))
        self._headers_known()

    def _on_chunk(self, chunk: bytes):
        """Runs inside libcurl's write callback, where libcurl cannot be asked anything: it only queues."""
        if self._cancelled:
            return
        if not self._chunks and not self._head.done():
            asyncio.get_running_loop().call_soon(self._read_head)
        self._chunks.append(chunk)
        self.buffered += len(chunk)
        self._wake()

    def _on_done(self, future):
        try:
            response = future.result()
        except Exception as exc:   # no complete HTTP answer: refused, reset, timed out, aborted
            self.status = NO_RESPONSE
            self.error = "aborted" if self._cancelled else str(exc)
            response = None
        if response is not None and not self.status:
            self.status = response.code
            self.headers = response.headers
        self._done = True
        # Tornado reuses the handle for other requests from now on; its info holds the request, whose
        # callbacks hold this stream (a cycle, left to the garbage collector if kept)
        self._curl = self._curl_info = None
        self._headers_known()
        self._wake()
        self._disarm()

    def _headers_known(self):
        if not self._head.done():
            self._head.set_result(None)

    def _wake(self):
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_headers(self, timeout: float):
        """Wait until the status line and headers arrived (or the call failed)."""
        await asyncio.wait_for(asyncio.shield(self._head), timeout)

    async def next_chunk(self, timeout: float):
        """The body that arrived since the last call (its chunks joined: a reader that fell behind catches
        up in one write), or None at the end; asyncio.TimeoutError when the upstream is idle."""
        if self._cancelled:
            return None
        while not self._chunks:
            if self._done or self._cancelled:
                return None
            await self._next_wake(timeout)
        chunks, self._chunks = self._chunks, []
        self.buffered = 0
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _next_wake(self, timeout: float):
        """Wait for the next chunk, the end or a cancel; asyncio.TimeoutError after `timeout` seconds (None:
        no limit). One timer serves all the waits of a stream: a wait only moves the deadline, and a timer
        that fires before it moves itself there (a timer per chunk would cost more than relaying it)."""
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._give_up_at = None if timeout is None else loop.time() + timeout
        if self._give_up_at is not None and (self._timer is None or self._timer_at > self._give_up_at):
            self._arm(loop)
        try:
            await waiter
        finally:
            self._waiter = None

    def _arm(self, loop):
        self._disarm()
        self._timer_at = self._give_up_at
        self._timer = loop.call_at(self._timer_at, self._check_idle, loop)

    def _disarm(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_idle(self, loop):
        self._timer = None
        waiter, deadline = self._waiter, self._give_up_at
        if waiter is None or waiter.done() or deadline is None:
            return              # not waiting: the next wait sets the timer again
        if loop.time() >= deadline:
            waiter.set_exception(asyncio.TimeoutError())
        else:
            self._arm(loop)

    async def read_all(self, timeout: float, limit: int = 1 << 20) -> bytes:
        """The rest of the body (an error body, typically), up to `limit` bytes."""
        parts, size = [], 0
        while size < limit:
            chunk = await self.next_chunk(timeout)
            if chunk is None:
                break
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)[:limit]

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel_now(self):
        """Stop the transfer now and wake any reader."""
        if self._cancelled:
            return
        self._cancelled = True
        self._chunks.clear()
        self.buffered = 0
        self._headers_known()
        self._wake()
        self._disarm()
        if self._curl is not None and not self._done and self._curl.info is self._curl_info:
            self._client.abort(self._curl)   # the upstream connection closes now
