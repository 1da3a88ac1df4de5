"""/mj: the Midjourney-Proxy relay with the user's `sk-` key, the image proxy and the upstream's notify
hook; /api/mj: the task lists of the dashboards.

Every /mj route is also served under a speed-mode prefix (`/fast/mj/...` or `/mj-fast/mj/...`, likewise
relax and turbo); submits pass the mode on to the upstream.
"""
from handlers.base import ApiHandler, RelayHandler
from models.documents import stored_id
from services.adaptors.midjourney import SUBMIT_KINDS
from services.errors import RelayError

MODE = r"(?:/(?:mj-)?(?P<mode>fast|relax|turbo))?"
TASK_ID = r"(?P<task_id>[^/]{1,128})"


class MjHandler(RelayHandler):
    """midjourney-proxy clients send the key as `Authorization: Bearer sk-...` or as `mj-api-secret`."""

    async def prepare(self):
        if self.level() == "key":
            header = self.request.headers.get("Authorization", "").strip()
            if header.removeprefix("Bearer ").strip() in ("", "midjourney-proxy"):
                header = self.request.headers.get("mj-api-secret", "")
            self.caller = await self.services.keys.resolve(header, self.request.remote_ip)
        else:
            await super().prepare()

    @property
    def mj(self):
        return self.services.midjourney

    def request_base(self) -> str:
        return f"{self.request.protocol}://{self.request.host}"


class _Submitting:
    """A submit in flight: a stopping server waits for it, so its charge is kept or refunded."""

    def closed(self):
        pass   # a submit is one short upstream call; it is let finish rather than cut off


class SubmitHandler(MjHandler):
    access = {"POST": "key"}

    async def post(self, kind, mode=None):
        marker = _Submitting()
        self.services.inflight.enter(marker)
        try:
            result = await self.mj.submit(self.caller, kind, self.request.body, mode or "")
        finally:
            self.services.inflight.leave(marker)
        self.write_json(result)


class FetchHandler(MjHandler):
    access = {"GET": "key"}

    async def get(self, task_id, mode=None):
        self.write_json(await self.mj.fetch(self.caller, task_id, self.request_base()))


class ListByConditionHandler(MjHandler):
    access = {"POST": "key"}

    async def post(self, mode=None):
        self.write_json(await self.mj.list_by_condition(self.caller, self.request.body, self.request_base()))


class ImageSeedHandler(MjHandler):
    access = {"GET": "key"}

    async def get(self, task_id, mode=None):
        self.write_json(await self.mj.image_seed(self.caller, task_id))


class ImageHandler(MjHandler):
    """Public, as image tags cannot send keys; only a task's stored image can be read through it."""

    access = {"GET": "public"}
    image = None

    async def get(self, task_id, mode=None):
        self.image = await self.mj.open_image(task_id)
        self.set_header("Content-Type", self.image.content_type)
        self.set_header("Cache-Control", "public, max-age=86400")
        try:
            async for chunk in self.image.chunks():
                self.write(chunk)
                await self.flush()
        except Exception:
            self.image.cancel()
            raise
        self.finish()

    def on_connection_close(self):
        if self.image is not None:
            self.image.cancel()


class NotifyHandler(MjHandler):
    """The upstream's callback; the address the gateway gave it carries a signature instead of a key."""

    access = {"POST": "public"}

    async def post(self, mode=None):
        channel = self.get_query_argument("channel", "")
        await self.mj.notify(stored_id(channel) or 0, self.get_query_argument("token", ""),
                             self.request.body)
        self.write_json({"code": 1, "description": "ok"})


class MjNotFound(MjHandler):
    access = {verb: "public" for verb in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def prepare(self):
        raise RelayError(404, f"Unknown Midjourney route {self.request.method} {self.request.path}.",
                         "route_not_found", "invalid_request_error")


# Dashboards ------------------------------------------------------------------------------------
class TaskListHandler(ApiHandler):
    admin = False

    def filters(self) -> dict:
        filters = {name: self.get_query_argument(name, "") for name in ("status", "action", "mj_id")}
        filters["mj_id"] = filters["mj_id"] or self.get_query_argument("task_id", "")
        for name in ("start_timestamp", "end_timestamp", "channel_id", "user_id"):
            filters[name] = self.int_arg(name, 0)
        if not self.admin:
            filters.update(user_id=self.current.id, channel_id=0)
        return filters

    async def get(self):
        page, size = self.paging()
        base = f"{self.request.protocol}://{self.request.host}"
        items, total = await self.services.midjourney.page(self.filters(), page, size, base, self.admin)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


class AllTasksHandler(TaskListHandler):
    access = {"GET": "admin"}
    admin = True


class OwnTasksHandler(TaskListHandler):
    access = {"GET": "user"}


_KINDS = "|".join(SUBMIT_KINDS)

routes = [
    (MODE + rf"/mj/submit/(?P<kind>{_KINDS})", SubmitHandler),
    (MODE + rf"/mj/task/{TASK_ID}/fetch", FetchHandler),
    (MODE + r"/mj/task/list-by-condition", ListByConditionHandler),
    (MODE + rf"/mj/task/{TASK_ID}/image-seed", ImageSeedHandler),
    (MODE + rf"/mj/image/{TASK_ID}", ImageHandler),
    (MODE + r"/mj/notify", NotifyHandler),
    (r"/api/mj/?", AllTasksHandler),
    (r"/api/mj/self", OwnTasksHandler),
]

fallback_routes = [(MODE + r"/mj/.*", MjNotFound)]
