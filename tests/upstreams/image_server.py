"""A local web server of images, as chat messages point to them by address:

  /photo.png        a real PNG, 1600×1000          /photo.jpg   a real JPEG, 640×480
  /low.png          a real PNG (asked for at low detail: never fetched)
  /huge.png         a real PNG of noise, 1600×1000, larger than 1 MiB, with its Content-Length
  /huge-chunked.png the same, sent in chunks without a Content-Length
  /slow.png         sends the first bytes of a PNG, then nothing more until the test ends
  anything else     404
"""
import asyncio
import functools
import io
import os

from PIL import Image
from tornado.iostream import StreamClosedError
from tornado.web import Application, RequestHandler


def encode(image, kind) -> bytes:
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


@functools.lru_cache(maxsize=None)
def images() -> dict:
    noise = Image.frombytes("RGB", (1600, 1000), os.urandom(1600 * 1000 * 3))
    huge = encode(noise, "PNG")
    return {
        "photo.png": (encode(Image.new("RGB", (1600, 1000), (200, 30, 30)), "PNG"), "image/png"),
        "photo.jpg": (encode(Image.new("RGB", (640, 480), (30, 200, 30)), "JPEG"), "image/jpeg"),
        "low.png": (encode(Image.new("RGB", (4000, 4000)), "PNG"), "image/png"),
        "huge.png": (huge, "image/png"),
        "huge-chunked.png": (huge, "image/png"),
    }


class ImageState:
    def __init__(self):
        self.paths = []                  # every path asked for, in order
        self.release = asyncio.Event()   # lets /slow.png end (set when the test ends)


class ImageHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    async def get(self, name):
        self.state.paths.append(self.request.path)
        if name == "slow.png":
            self.set_header("Content-Type", "image/png")
            self.write(b"\x89PNG\r\n\x1a\n")
            await self.flush()
            await self.state.release.wait()
            return
        if name not in images():
            self.set_status(404)
            return self.finish("not found")
        data, mime = images()[name]
        self.set_header("Content-Type", mime)
        if name == "huge-chunked.png":
            try:
                for start in range(0, len(data), 64 * 1024):
                    self.write(data[start:start + 64 * 1024])
                    await self.flush()
            except StreamClosedError:    # the reader stopped at its limit
                pass
            return
        self.finish(data)


def make_image_app(state: ImageState) -> Application:
    return Application([(r"/([\w.-]+)", ImageHandler, {"state": state})])
