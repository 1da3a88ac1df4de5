"""The two dashboards: static pages that talk only to /api. `/` is the user side, `/admin` the operator's."""
import os

from tornado.web import RequestHandler, StaticFileHandler

STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")
WEB_WINDOW = 180   # seconds


def _read_index(page: str) -> bytes:
    with open(os.path.join(STATIC, page, "index.html"), "rb") as f:
        return f.read()


# Read once at start-up: the pages are small and never change while the server runs.
INDEX = {page: _read_index(page) for page in ("user", "admin")}


class PageHandler(RequestHandler):
    """Serves a dashboard's index page (its scripts route inside the page)."""

    access = {"GET": "public"}

    def initialize(self, page):
        self.page = page

    async def get(self):
        services = self.settings["services"]
        settings = services.settings
        if settings.node_type == "slave" and settings.frontend_base_url:
            return self.redirect(settings.frontend_base_url.rstrip("/") + self.request.uri)
        if not await services.limits.allow("web", self.request.remote_ip, settings.global_web_rate_limit,
                                           WEB_WINDOW):
            self.set_status(429)
            return self.finish("Too many requests from this address; try again in a few minutes.")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(INDEX[self.page])


class AssetHandler(StaticFileHandler):
    access = {"GET": "public", "HEAD": "public"}


routes = [
    (r"/", PageHandler, {"page": "user"}),
    (r"/admin/?", PageHandler, {"page": "admin"}),
    (r"/static/(.*)", AssetHandler, {"path": STATIC}),
]
