"""/api/token: the caller's own API keys; /api/token/all: every token, without keys, for administrators."""
from handlers.base import ApiError, ApiHandler
from services.tokens import public_token


class TokensHandler(ApiHandler):
    """GET list (and /search: by name part `keyword`, or by full key `token`), POST create, PUT edit."""

    access = {"GET": "user", "POST": "user", "PUT": "user"}

    async def get(self):
        page, size = self.paging()
        keyword = self.get_query_argument("keyword", "")
        key = self.get_query_argument("token", "")
        items, total = await self.services.tokens.page(self.current.id, keyword, page, size, key)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})

    async def post(self):
        token, key = await self.services.tokens.create(self.current.id, self.body())
        self.ok({**public_token(token), "key": key})

    async def put(self):
        data = self.body()
        if not isinstance(data.get("id"), int):
            raise ApiError(400, "id is required")
        status_only = self.get_query_argument("status_only", "") in ("true", "1")
        token = await self.services.tokens.update(self.current.id, data["id"], data, status_only)
        self.ok(public_token(token))


class TokenHandler(ApiHandler):
    access = {"GET": "user", "DELETE": "user"}

    async def get(self, token_id):
        self.ok(public_token(await self.services.tokens.get(self.current.id, int(token_id))))

    async def delete(self, token_id):
        if not await self.services.tokens.delete(self.current.id, int(token_id)):
            raise ApiError(404, "no such token")
        self.ok()


class TokenKeyHandler(ApiHandler):
    """The full key, for its owner only."""

    access = {"GET": "user", "POST": "user"}

    async def post(self, token_id):
        self.ok({"key": await self.services.tokens.reveal(self.current.id, int(token_id))})

    get = post


class TokenBatchDeleteHandler(ApiHandler):
    """POST {ids}: delete several of the caller's tokens."""

    access = {"POST": "user"}

    async def post(self):
        deleted = await self.services.tokens.delete_many(self.current.id, self.body().get("ids"))
        self.ok(deleted)


class TokenBatchCreateHandler(ApiHandler):
    """POST {count, name, ...template}: `count` tokens; their keys are in this answer and never again
    unasked."""

    access = {"POST": "user"}

    async def post(self):
        made = await self.services.tokens.create_batch(self.current.id, self.body())
        self.ok([{**public_token(token), "key": key} for token, key in made])


class AllTokensHandler(ApiHandler):
    """Every user's tokens (optionally one user's) for administrators, keys left out."""

    access = {"GET": "admin"}

    async def get(self):
        page, size = self.paging()
        user_id = self.int_arg("user_id", 0) or None
        keyword = self.get_query_argument("keyword", "")
        items, total = await self.services.tokens.page(user_id, keyword, page, size, with_key=False)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


routes = [
    (r"/api/token/?", TokensHandler),
    (r"/api/token/search", TokensHandler),
    (r"/api/token/all", AllTokensHandler),
    (r"/api/token/batch", TokenBatchDeleteHandler),
    (r"/api/token/batch/create", TokenBatchCreateHandler),
    (r"/api/token/(\d+)", TokenHandler),
    (r"/api/token/(\d+)/key", TokenKeyHandler),
]
