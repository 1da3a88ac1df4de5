"""Accounts: the first root user, registration, login, sessions and access tokens."""
import re
import time

import jwt

from models.users import ROLE_ROOT, STATUS_ENABLED, User, UsernameTaken
from services.errors import ServiceError
from services.passwords import hash_password, verify_password
from services.secrets import random_text

ROOT_QUOTA = 500_000_000_000_000
SESSION_DAYS = 30
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")


class AccountError(ServiceError):
    pass


def check_password(password) -> str:
    if not isinstance(password, str) or not 8 <= len(password) <= 64:
        raise AccountError("password must be 8 to 64 characters")
    return password


class Accounts:
    def __init__(self, db, keyring, options, keys):
        self.db = db
        self.keyring = keyring
        self.options = options
        self.keys = keys       # the resolver whose user cache must forget changed users

    async def ensure_root(self):
        """On an empty database, create root / 123456 as One API does."""
        if await self.db.users.count():
            return None
        root = User(id=0, username="root", display_name="Root User", role=ROLE_ROOT,
                    password_hash=await hash_password("123456"), quota=ROOT_QUOTA, created_time=int(time.time()))
        try:
            return await self.db.users.create(root)
        except UsernameTaken:    # another worker or node starting on the same empty database made it first
            return None

    async def register(self, username, password, display_name=None) -> User:
        if not self.options["RegisterEnabled"] or not self.options["PasswordRegisterEnabled"]:
            raise AccountError("registration is closed", 403)
        if not isinstance(username, str) or not USERNAME.match(username):
            raise AccountError("username must be 1 to 20 letters, digits, '.', '_' or '-'")
        check_password(password)
        user = User(id=0, username=username, display_name=(display_name or username)[:20],
                    password_hash=await hash_password(password), quota=self.options["QuotaForNewUser"],
                    aff_code=random_text(4), created_time=int(time.time()))
        try:
            return await self.db.users.create(user)
        except UsernameTaken:
            raise AccountError("that username is taken", 409) from None

    async def login(self, username, password) -> User:
        if not self.options["PasswordLoginEnabled"]:
            raise AccountError("password login is turned off", 403)
        if not isinstance(username, str) or not isinstance(password, str):
            raise AccountError("username and password are required")
        user = await self.db.users.by_username(username)
        if user is None or not await verify_password(user.password_hash, password):
            raise AccountError("wrong username or password", 401)
        if user.status != STATUS_ENABLED:
            raise AccountError("this account is disabled", 403)
        return user

    def session_cookie(self, user: User) -> str:
        now = int(time.time())
        claims = {"uid": user.id, "iat": now, "exp": now + SESSION_DAYS * 86400}
        return jwt.encode(claims, self.keyring.session_key, algorithm="HS256")

    def session_user_id(self, cookie: str):
        try:
            claims = jwt.decode(cookie, self.keyring.session_key, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        uid = claims.get("uid")
        return uid if isinstance(uid, int) else None

    async def by_access_token(self, value: str):
        value = value.strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        if not value or value.startswith("sk-"):
            return None
        return await self.db.users.by_access_token_hash(self.keyring.hash(value))

    async def new_access_token(self, user: User) -> str:
        """A new access token for the management API; the old one stops working."""
        token = random_text(32)
        await self.db.users.update(user.id, {"access_token_hash": self.keyring.hash(token)})
        return token

    async def current(self, user_id: int):
        return await self.keys.user(user_id)
