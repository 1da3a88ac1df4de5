"""/api/channel: upstream channels (administrators; keys are shown to root only)."""
from handlers.base import ApiError, ApiHandler
from models.users import ROLE_ROOT
from services.channels import public_channel


class ChannelApiHandler(ApiHandler):
    def show(self, channel) -> dict:
        return public_channel(channel, self.current.role >= ROLE_ROOT)


class ChannelsHandler(ChannelApiHandler):
    access = {"GET": "admin", "POST": "admin", "PUT": "admin"}

    async def get(self):
        page, size = self.paging()
        keyword = self.get_query_argument("keyword", "")
        channels, total = await self.services.channels.page(keyword, page, size)
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


routes = [
    (r"/api/channel/?", ChannelsHandler),
    (r"/api/channel/search", ChannelsHandler),
    (r"/api/channel/(\d+)", ChannelHandler),
]
