"""/api/user: registration, login, the caller's own account, access tokens."""
from handlers.base import SESSION_COOKIE, ApiHandler


def public_user(user) -> dict:
    return {
        "id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
        "status": user.status, "email": user.email, "quota": user.balance, "used_quota": user.used_quota,
        "request_count": user.request_count, "group": user.group, "aff_code": user.aff_code,
        "inviter_id": user.inviter_id, "created_time": user.created_time,
    }


class LoginHandler(ApiHandler):
    access = {"POST": "public"}
    critical = True

    async def post(self):
        data = self.body()
        user = await self.services.accounts.login(data.get("username"), data.get("password"))
        self.set_cookie(SESSION_COOKIE, self.services.accounts.session_cookie(user), httponly=True,
                        samesite="Lax", expires_days=30)
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
                                                     data.get("display_name"))
        self.ok({"id": user.id, "username": user.username})


class SelfHandler(ApiHandler):
    access = {"GET": "user"}

    def get(self):
        self.ok(public_user(self.current))


class AccessTokenHandler(ApiHandler):
    access = {"GET": "user"}

    async def get(self):
        self.ok(await self.services.accounts.new_access_token(self.current))


routes = [
    (r"/api/user/login", LoginHandler),
    (r"/api/user/logout", LogoutHandler),
    (r"/api/user/register", RegisterHandler),
    (r"/api/user/self", SelfHandler),
    (r"/api/user/token", AccessTokenHandler),
]
