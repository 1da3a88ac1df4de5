"""/api/log: request logs, all of them for administrators, their own for users, and a key's own logs."""
import contextlib
import time

from tornado.iostream import StreamClosedError

from handlers.base import ApiHandler
from handlers.cors import CorsMixin
from services.log_export import FORMATS

TEXT_FILTERS = ("username", "token_name", "model_name", "group", "keyword")
NUMBER_FILTERS = ("type", "start_timestamp", "end_timestamp", "channel", "user_id")


class LogListHandler(ApiHandler):
    """GET: one page of logs matching the query filters, with the total."""

    own_only = False

    def filters(self) -> dict:
        filters = {name: self.get_query_argument(name, "") for name in TEXT_FILTERS}
        for name in NUMBER_FILTERS:
            filters[name] = self.int_arg(name, 0)
        filters["channel_id"] = filters.pop("channel")
        if self.own_only:      # a user's own logs: never another user's, and no channel details
            filters.update(user_id=self.current.id, username="", channel_id=0)
        return filters

    async def get(self):
        page, size = self.paging()
        items, total = await self.services.logs.page(self.filters(), page, size, admin=not self.own_only)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


class AllLogsHandler(LogListHandler):
    """GET every user's logs; DELETE ?target_timestamp= removes the logs older than that time."""

    access = {"GET": "admin", "DELETE": "admin"}

    async def delete(self):
        deleted = await self.services.logs.delete_before(self.int_arg("target_timestamp", 0))
        self.ok(deleted, f"{deleted} log entries deleted")


class AllSearchHandler(LogListHandler):
    access = {"GET": "admin"}


class OwnLogsHandler(LogListHandler):
    access = {"GET": "user"}
    own_only = True


class AllStatHandler(LogListHandler):
    """GET {quota, rpm, tpm} of the filtered selection."""

    access = {"GET": "admin"}

    async def get(self):
        self.ok(await self.services.logs.stat(self.filters()))


class OwnStatHandler(AllStatHandler):
    access = {"GET": "user"}
    own_only = True


class AllExportHandler(LogListHandler):
    """GET ?format=csv|jsonl and the list filters: the whole selection, streamed chunk by chunk."""

    access = {"GET": "admin"}

    async def get(self):
        fmt = self.get_query_argument("format", "csv")
        filters, export = self.filters(), self.services.log_export
        export.check(filters, fmt)
        self.set_header("Content-Type", FORMATS[fmt])
        self.set_header("Content-Disposition", f'attachment; filename="logs-{int(time.time())}.{fmt}"')
        chunks = export.chunks(filters, fmt, admin=not self.own_only)
        async with contextlib.aclosing(chunks):
            try:
                async for chunk in chunks:
                    self.write(chunk)
                    await self.flush()
            except StreamClosedError:
                return          # the client left; closing the generator closes the cursor
        self.finish()


class OwnExportHandler(AllExportHandler):
    access = {"GET": "user"}
    own_only = True


class KeyLogsHandler(CorsMixin, ApiHandler):
    """GET ?key=sk-... (or the key as a Bearer header): that key's own logs, without a login."""

    access = {"GET": "public", "OPTIONS": "public"}

    async def get(self):
        key = self.get_query_argument("key", "") or self.request.headers.get("Authorization", "")
        token = await self.services.logs.token_of_key(key, self.services.keyring)
        page, size = self.paging()
        filters = {"user_id": token.user_id, "token_id": token.id}
        items, total = await self.services.logs.page(filters, page, size, admin=False)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


routes = [
    (r"/api/log/?", AllLogsHandler),
    (r"/api/log/search", AllSearchHandler),
    (r"/api/log/stat", AllStatHandler),
    (r"/api/log/export", AllExportHandler),
    (r"/api/log/self/?", OwnLogsHandler),
    (r"/api/log/self/search", OwnLogsHandler),
    (r"/api/log/self/stat", OwnStatHandler),
    (r"/api/log/self/export", OwnExportHandler),
    (r"/api/log/token", KeyLogsHandler),
]
