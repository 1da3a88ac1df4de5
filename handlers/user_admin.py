"""/api/user for administrators: list, search, create, edit, delete and manage users, adjust balances."""
from handlers.base import ApiError, ApiHandler
from handlers.user import public_user

MAX_ID_DIGITS = 15


def path_id(value: str) -> int:
    """An id from the path; ids too long to be stored are simply not found."""
    if len(value) > MAX_ID_DIGITS:
        raise ApiError(404, "no such user")
    return int(value)


class UserSearchHandler(ApiHandler):
    access = {"GET": "admin"}

    async def get(self):
        page, size = self.paging()
        users, total = await self.services.users_admin.page(
            self.get_query_argument("keyword", ""), page, size, self.get_query_argument("order", ""))
        self.ok({"items": [public_user(u) for u in users], "total": total, "page": page, "page_size": size})


class UsersHandler(UserSearchHandler):
    access = {"GET": "admin", "POST": "admin", "PUT": "admin"}

    async def post(self):
        self.ok(public_user(await self.services.users_admin.create(self.current, self.body())))

    async def put(self):
        self.ok(public_user(await self.services.users_admin.update(self.current, self.body())))


class UserHandler(ApiHandler):
    access = {"GET": "admin", "DELETE": "admin"}

    async def get(self, user_id):
        self.ok(public_user(await self.services.users_admin.target(self.current, path_id(user_id))))

    async def delete(self, user_id):
        await self.services.users_admin.delete(self.current, path_id(user_id))
        self.ok()


class ManageHandler(ApiHandler):
    access = {"POST": "admin"}

    async def post(self):
        user = await self.services.users_admin.manage(self.current, self.body())
        self.ok({"role": user.role, "status": user.status} if user else None)


class QuotaHandler(ApiHandler):
    """Credit or debit a user's balance: {id, delta, remark}."""

    access = {"POST": "admin"}

    async def post(self):
        data = self.body()
        quota = await self.services.users_admin.adjust_quota(self.current, data)
        self.ok({"id": data["id"], "quota": quota})


routes = [
    (r"/api/user/?", UsersHandler),
    (r"/api/user/search", UserSearchHandler),
    (r"/api/user/(\d+)", UserHandler),
    (r"/api/user/manage", ManageHandler),
    (r"/api/user/quota", QuotaHandler),
]
