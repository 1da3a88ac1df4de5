"""/api/redemption: administrators' redemption codes (users redeem them at POST /api/user/topup)."""
from handlers.base import ApiError, ApiHandler
from services.redemptions import public_redemption

MAX_ID_DIGITS = 15


def path_id(value: str) -> int:
    if len(value) > MAX_ID_DIGITS:
        raise ApiError(404, "no such redemption code")
    return int(value)


class RedemptionSearchHandler(ApiHandler):
    access = {"GET": "admin"}

    async def get(self):
        page, size = self.paging()
        items, total = await self.services.redemptions.page(self.get_query_argument("keyword", ""), page, size)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


class RedemptionsHandler(RedemptionSearchHandler):
    access = {"GET": "admin", "POST": "admin", "PUT": "admin"}

    async def post(self):
        """Make `count` codes; the answer is their keys."""
        self.ok(await self.services.redemptions.create(self.current, self.body()))

    async def put(self):
        status_only = self.get_query_argument("status_only", "") in ("true", "1")
        code = await self.services.redemptions.update(self.body(), status_only)
        self.ok(public_redemption(code))


class RedemptionHandler(ApiHandler):
    access = {"GET": "admin", "DELETE": "admin"}

    async def get(self, redemption_id):
        self.ok(public_redemption(await self.services.redemptions.get(path_id(redemption_id))))

    async def delete(self, redemption_id):
        await self.services.redemptions.delete(path_id(redemption_id))
        self.ok()


class InvalidRedemptionsHandler(ApiHandler):
    """Delete every used or disabled code; the answer is how many went."""

    access = {"DELETE": "admin"}

    async def delete(self):
        self.ok(await self.services.redemptions.delete_invalid())


routes = [
    (r"/api/redemption/?", RedemptionsHandler),
    (r"/api/redemption/search", RedemptionSearchHandler),
    (r"/api/redemption/invalid", InvalidRedemptionsHandler),
    (r"/api/redemption/(\d+)", RedemptionHandler),
]
