"""/api/dashboard/overview: the numbers on the admin dashboard's first page."""
from handlers.base import ApiHandler


class OverviewHandler(ApiHandler):
    access = {"GET": "admin"}

    async def get(self):
        self.ok(await self.services.overview.build(self.int_arg("utc_offset", 0)))


routes = [(r"/api/dashboard/overview", OverviewHandler)]
