"""/api/log: request logs, all of them for administrators, their own for users."""
from handlers.base import ApiHandler

TEXT_FILTERS = ("username", "token_name", "model_name", "group", "keyword")
NUMBER_FILTERS = ("type", "start_timestamp", "end_timestamp", "channel", "user_id")


class LogListHandler(ApiHandler):
    own_only = False

    def filters(self) -> dict:
        filters = {name: self.get_query_argument(name, "") for name in TEXT_FILTERS}
        for name in NUMBER_FILTERS:
            filters[name] = self.int_arg(name, 0)
        filters["channel_id"] = filters.pop("channel")
        if self.own_only:
            filters["user_id"] = self.current.id
            filters["username"] = ""
        return filters

    async def get(self):
        page, size = self.paging()
        items, total = await self.services.logs.page(self.filters(), page, size)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


class AllLogsHandler(LogListHandler):
    access = {"GET": "admin"}


class OwnLogsHandler(LogListHandler):
    access = {"GET": "user"}
    own_only = True


routes = [
    (r"/api/log/?", AllLogsHandler),
    (r"/api/log/self", OwnLogsHandler),
]
