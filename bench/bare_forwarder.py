"""The yardstick: a bare Tornado handler that forwards each chat call to one upstream with
CurlAsyncHTTPClient (upstream keep-alive), streams relayed chunk by chunk. No keys, no billing, no logs.
With PROCESSES > 1 it runs as that many processes on one port (SO_REUSEPORT, as Tollgate's workers do):
what any pair of Tornado processes gains on this machine, beside the bench's own load generator and upstream.
Run: python -m bench.bare_forwarder PORT UPSTREAM_BASE_URL [PROCESSES]"""
import asyncio
import json
import os
import signal
import sys

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient", max_clients=2000)


class Forward(RequestHandler):
    async def post(self):
        stream = json.loads(self.request.body).get("stream") is True
        url = self.settings["upstream"] + self.request.path
        if stream:
            self.set_header("Content-Type", "text/event-stream")
        request = HTTPRequest(url, method="POST", body=self.request.body, request_timeout=120,
                              headers={"Content-Type": "application/json"},
                              streaming_callback=(lambda chunk: self.write(chunk) or self.flush()) if stream else None)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if not stream:
            self.set_status(response.code if response.code != 599 else 502)
            self.set_header("Content-Type", response.headers.get("Content-Type", "application/json"))
            self.write(response.body or b"")


async def serve(sockets, upstream):
    HTTPServer(Application([(r"/.*", Forward)], upstream=upstream.rstrip("/"))).add_sockets(sockets)
    await asyncio.Event().wait()


def main(port, upstream, processes=1):
    """Each process gets its own listening socket, bound before any fork; the first process serves too and
    takes the others down with it on SIGTERM."""
    socket_sets = [bind_sockets(port, "127.0.0.1", reuse_port=processes > 1) for _ in range(processes)]
    children = []
    for sockets in socket_sets[1:]:
        pid = os.fork()
        if pid == 0:
            asyncio.run(serve(sockets, upstream))
            os._exit(1)      # a child never goes on to fork others
        children.append(pid)

    def stop(*_):
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    asyncio.run(serve(socket_sets[0], upstream))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)
