"""/api/option: run-time options, root only. Secrets are never listed."""
from handlers.base import ApiError, ApiHandler


class OptionsHandler(ApiHandler):
    access = {"GET": "root", "PUT": "root"}

    def get(self):
        items = self.services.options.listed_items()
        self.ok([{"key": name, "value": value} for name, value in sorted(items.items())])

    async def put(self):
        data = self.body()
        if not isinstance(data.get("key"), str) or data.get("value") is None:
            raise ApiError(400, "send the option as {key, value}")
        await self.services.options.set(data["key"], data["value"])
        await self.services.changes.publish("options")   # other nodes re-read at once when Redis links them
        self.ok()


routes = [(r"/api/option/?", OptionsHandler)]
