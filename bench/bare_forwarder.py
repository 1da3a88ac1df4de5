"""The yardstick: a bare Tornado handler that forwards each chat call to one upstream with
CurlAsyncHTTPClient (upstream keep-alive), streams relayed chunk by chunk. No keys, no billing, no logs.
Run: python -m bench.bare_forwarder PORT UPSTREAM_BASE_URL"""
import asyncio
import json
import sys

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
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


async def main(port, upstream):
    Application([(r"/.*", Forward)], upstream=upstream.rstrip("/")).listen(port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
