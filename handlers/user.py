"""/api/user: registration, login, and what a user does with their own account."""
from tornado.routing import PathMatches, Rule

from handlers.base import SESSION_COOKIE, ApiHandler


class MethodsAndPath(PathMatches):
    """A path of which only some methods belong to a handler; requests with other methods go on to later
    routes (POST /api/user/topup redeems a code, GET on it lists online top-up orders)."""

    def __init__(self, methods, pattern):
        super().__init__(pattern)
        self.methods = frozenset(methods)

    def match(self, request):
        return super().match(request) if request.method in self.methods else None


def public_user(user) -> dict:
    """A user as the API shows it: never the password hash or the access token."""
    return {
        "id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
        "status": user.status, "email": user.email, "quota": user.balance, "used_quota": user.used_quota,
        "request_count": user.request_count, "group": user.group, "aff_code": user.aff_code,
        "inviter_id": user.inviter_id, "created_time": user.created_time,
        "default_password": bool(user.default_password),
    }


def start_session(handler, user):
    handler.set_cookie(SESSION_COOKIE, handler.services.accounts.session_cookie(user), httponly=True,
                       samesite="Lax", expires_days=30)


class LoginHandler(ApiHandler):
    access = {"POST": "public"}
    critical = True

    async def post(self):
        data = self.body()
        user = await self.services.accounts.login(data.get("username"), data.get("password"))
        start_session(self, user)
        self.ok({"id": user.id, "username": user.username, "display_name": user.display_name,
                 "role": user.role, "status": user.status, "group": user.group})


class LogoutHandler(ApiHandler):
    access = {"GET": "public", "POST": "public"}

    def get(self):
        self.clear_cookie(SESSION_COOKIE)
        self.ok()

    post = get


class RegisterHandler(ApiHandler):
    access = {"POST": "public"}
    critical = True

    async def post(self):
        data = self.body()
        user = await self.services.accounts.register(data.get("username"), data.get("password"),
                                                     data.get("display_name"), data.get("aff_code"))
        self.ok({"id": user.id, "username": user.username})


class SelfHandler(ApiHandler):
    access = {"GET": "user", "PUT": "user", "DELETE": "user"}

    def get(self):
        self.ok(public_user(self.current))

    async def put(self):
        data = self.body()
        user = await self.services.accounts.update_self(self.current, data)
        if data.get("password"):
            start_session(self, user)      # the new password ended every session, this one included
        self.ok(public_user(user))

    async def delete(self):
        await self.services.accounts.delete_self(self.current)
        self.clear_cookie(SESSION_COOKIE)
        self.ok()


class AccessTokenHandler(ApiHandler):
    access = {"GET": "user"}

    async def get(self):
        self.ok(await self.services.accounts.new_access_token(self.current))


class AffCodeHandler(ApiHandler):
    access = {"GET": "user"}

    async def get(self):
        self.ok(await self.services.accounts.aff_code(self.current))


class RedeemHandler(ApiHandler):

    access = {"POST": "user"}
    critical = True

    async def post(self):
        self.ok(await self.services.redemptions.redeem(self.current, self.body().get("key")))


class ModelsHandler(ApiHandler):
    access = {"GET": "user"}

    def get(self):
        self.ok(self.services.routing.models_for(self.current.group))


class GroupsHandler(ApiHandler):
    access = {"GET": "user"}

    def get(self):
        self.ok(self.services.accounts.usable_groups(self.current))


class DashboardHandler(ApiHandler):
    access = {"GET": "user"}

    async def get(self):
        self.ok(await self.services.accounts.dashboard(self.current, self.int_arg("days", 7),
                                                       utc_offset=self.int_arg("utc_offset", 0)))


routes = [
    (r"/api/user/login", LoginHandler),
    (r"/api/user/logout", LogoutHandler),
    (r"/api/user/register", RegisterHandler),
    (r"/api/user/self", SelfHandler),
    (r"/api/user/token", AccessTokenHandler),
    (r"/api/user/aff", AffCodeHandler),
    (r"/api/user/models", ModelsHandler),
    (r"/api/user/available_models", ModelsHandler),
    (r"/api/user/self/groups", GroupsHandler),
    (r"/api/user/dashboard", DashboardHandler),
    Rule(MethodsAndPath({"POST"}, r"/api/user/topup"), RedeemHandler),
]
