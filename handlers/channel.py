"""/api/channel: upstream channels (administrators; keys are shown to root only)."""
import time

from handlers.base import ApiError, ApiHandler
from models.users import ROLE_ROOT
from services.channels import public_channel


class ChannelApiHandler(ApiHandler):
    def show(self, channel) -> dict:
        return public_channel(channel, self.current.role >= ROLE_ROOT)


class ChannelsHandler(ChannelApiHandler):
    """GET list (and /search: keyword, group, model, status), POST create (one per key line), PUT edit."""

    access = {"GET": "admin", "POST": "admin", "PUT": "admin"}

    async def get(self):
        page, size = self.paging()
        arg = self.get_query_argument
        channels, total = await self.services.channels.page(arg("keyword", ""), page, size, arg("group", ""),
                                                            arg("model", ""), self.int_arg("status", 0))
        self.ok({"items": [self.show(c) for c in channels], "total": total, "page": page, "page_size": size})

    async def post(self):
        created = await self.services.channels.create(self.body())
        self.ok([self.show(c) for c in created])

    async def put(self):
        data = self.body()
        if not isinstance(data.get("id"), int):
            raise ApiError(400, "id is required")
        self.ok(self.show(await self.services.channels.update(data["id"], data)))


class ChannelHandler(ChannelApiHandler):
    access = {"GET": "admin", "DELETE": "admin"}

    async def get(self, channel_id):
        self.ok(self.show(await self.services.channels.get(int(channel_id))))

    async def delete(self, channel_id):
        if not await self.services.channels.delete(int(channel_id)):
            raise ApiError(404, "no such channel")
        self.ok()


class DisabledChannelsHandler(ApiHandler):
    """DELETE: remove every disabled channel (by hand or automatically); data = how many."""

    access = {"DELETE": "admin"}

    async def delete(self):
        self.ok(await self.services.channels.delete_disabled())


class ChannelBatchHandler(ApiHandler):
    """POST {ids}: delete several channels; data = how many."""

    access = {"POST": "admin"}

    async def post(self):
        self.ok(await self.services.channels.delete_many(self.body().get("ids")))


class ChannelModelsHandler(ApiHandler):
    """Every model known: priced in the options or served by a channel."""

    access = {"GET": "admin"}

    async def get(self):
        now = int(time.time())
        models = await self.services.channels.known_models()
        self.ok([{"id": m, "object": "model", "created": now, "owned_by": "tollgate"} for m in models])


class ChannelTestHandler(ApiHandler):
    """GET /api/channel/test/:id?model= tests one channel; GET /api/channel/test?scope= tests them all."""

    access = {"GET": "admin"}

    async def get(self, channel_id=None):
        tester = self.services.channel_tests
        if channel_id is None:
            self.ok(await tester.test_all(self.get_query_argument("scope", "all")))
            return
        result = await tester.test(int(channel_id), self.get_query_argument("model", ""))
        shown = result.as_dict()
        if result.success:
            self.ok(shown, result.message, time=result.time, model=result.model)
        else:   # the upstream failed the test: a bad gateway, with what it said
            self.write_json({"success": False, "message": result.message, "time": result.time,
                             "model": result.model, "data": shown}, 502)


class ChannelBalanceHandler(ApiHandler):
    """GET /api/channel/update_balance/:id for one channel, /api/channel/update_balance for all enabled."""

    access = {"GET": "admin"}

    async def get(self, channel_id=None):
        balances = self.services.balances
        if channel_id is None:
            self.ok(await balances.update_all())
            return
        balance = await balances.update(int(channel_id))
        self.ok({"balance": balance}, balance=balance)


routes = [
    (r"/api/channel/?", ChannelsHandler),
    (r"/api/channel/search", ChannelsHandler),
    (r"/api/channel/models", ChannelModelsHandler),
    (r"/api/channel/disabled", DisabledChannelsHandler),
    (r"/api/channel/batch", ChannelBatchHandler),
    (r"/api/channel/test", ChannelTestHandler),
    (r"/api/channel/test/(\d+)", ChannelTestHandler),
    (r"/api/channel/update_balance", ChannelBalanceHandler),
    (r"/api/channel/update_balance/(\d+)", ChannelBalanceHandler),
    (r"/api/channel/(\d+)", ChannelHandler),
]
