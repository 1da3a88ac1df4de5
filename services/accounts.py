"""Accounts: the first root user, registration (with invite codes), login, sessions, access tokens and
what a user may change about their own account."""
import hashlib
import hmac
import re
import time

import jwt

from models.log_stats import DAY
from models.logs import TYPE_SYSTEM
from models.users import ROLE_ROOT, STATUS_ENABLED, AffCodeTaken, User, UsernameTaken
from services.errors import ServiceError
from services.keys import Caller
from services.local_days import day_text, local_today
from services.passwords import hash_password, needs_rehash, verify_password
from services.secrets import random_text

ROOT_QUOTA = 500_000_000_000_000
ROOT_PASSWORD = "123456"     # One API's first password; the dashboards warn until it is changed
SESSION_DAYS = 30
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")
MAX_DISPLAY_NAME = 20
AFF_CODE_LENGTH = 6
AFF_CODE_TRIES = 10
MAX_DASHBOARD_DAYS = 30


class AccountError(ServiceError):
    pass


def check_password(password) -> str:
    if not isinstance(password, str) or not 8 <= len(password) <= 64:
        raise AccountError("password must be 8 to 64 characters")
    return password


def check_username(username) -> str:
    if not isinstance(username, str) or not USERNAME.match(username):
        raise AccountError("username must be 1 to 20 letters, digits, '.', '_' or '-'")
    return username


def check_display_name(name) -> str:
    if not isinstance(name, str) or len(name.strip()) > MAX_DISPLAY_NAME:
        raise AccountError(f"display_name must be text of at most {MAX_DISPLAY_NAME} characters")
    return name.strip()


class Accounts:
    def __init__(self, db, keyring, options, keys, changes=None, logs=None):
        self.db = db
        self.keyring = keyring
        self.options = options
        self.keys = keys       # the resolver whose user cache must forget changed users
        self.changes = changes  # tells every node (and this one) to forget a changed user
        self.logs = logs

    async def forget(self, user_id: int):
        """A user changed: drop every cached copy at once, so a disabled user is refused everywhere."""
        if self.changes is not None:
            await self.changes.publish("user", user_id)
        else:
            await self.keys.forget_user(user_id)

    async def ensure_root(self):
        """On an empty database, create root / 123456 as One API does, marked as still having that password."""
        if await self.db.users.count():
            return None
        root = User(id=0, username="root", display_name="Root User", role=ROLE_ROOT,
                    password_hash=await hash_password(ROOT_PASSWORD), quota=ROOT_QUOTA, created_time=int(time.time()),
                    default_password=True)
        try:
            return await self.create(root)
        except AccountError:    # another worker or node starting on the same empty database made it first
            return None

    async def register(self, username, password, display_name=None, aff_code=None) -> User:
        """A new common user; with another user's invite code both get the invite rewards."""
        if not self.options["RegisterEnabled"] or not self.options["PasswordRegisterEnabled"]:
            raise AccountError("registration is closed", 403)
        check_username(username)
        check_password(password)
        display_name = check_display_name(display_name) if display_name else ""
        inviter = await self._inviter(aff_code)
        bonus = self.options["QuotaForInvitee"] if inviter else 0
        user = User(id=0, username=username, display_name=display_name or username,
                    password_hash=await hash_password(password), quota=self.options["QuotaForNewUser"] + bonus,
                    inviter_id=inviter.id if inviter else 0, created_time=int(time.time()))
        user = await self.create(user)
        if inviter:
            await self._reward_invite(inviter, user, bonus)
        return user

    async def _inviter(self, aff_code):
        if aff_code in (None, ""):
            return None
        if not isinstance(aff_code, str):
            raise AccountError("aff_code must be text")
        inviter = await self.db.users.by_aff_code(aff_code.strip())
        if inviter is None:
            raise AccountError("no user has that invite code")
        return inviter

    async def _reward_invite(self, inviter: User, invitee: User, bonus: int):
        reward = self.options["QuotaForInviter"]
        if reward:
            await self.db.users.give_quota(inviter.id, reward)
            await self.forget(inviter.id)
            await self._log(inviter, f"invite reward for inviting user {invitee.username}: {reward} quota", reward)
        if bonus:
            await self._log(invitee, f"invite reward for registering with an invite code: {bonus} quota", bonus)

    async def _log(self, user: User, content: str, amount: int):
        if self.logs is not None:
            await self.logs.write(Caller(None, user), TYPE_SYSTEM, content, quota=amount)

    async def create(self, user: User) -> User:
        """Store a new user with a unique invite code of its own."""
        for _ in range(AFF_CODE_TRIES):
            user.aff_code = random_text(AFF_CODE_LENGTH)
            try:
                return await self.db.users.create(user)
            except UsernameTaken:
                raise AccountError("that username is taken", 409) from None
            except AffCodeTaken:
                continue
        raise AccountError("could not find a free invite code; try again", 409)

    async def aff_code(self, user: User) -> str:
        """The user's invite code, made now for users who have none (imported or made by tests)."""
        for _ in range(AFF_CODE_TRIES):
            fresh = await self.db.users.get(user.id)
            if fresh.aff_code:
                return fresh.aff_code
            try:
                await self.db.users.set_aff_code(user.id, random_text(AFF_CODE_LENGTH))
            except AffCodeTaken:
                continue
        raise AccountError("could not find a free invite code; try again", 409)

    async def update_self(self, user: User, data: dict) -> User:
        """Display name, and the password when the current one is given. Validates all before writing."""
        fields = {}
        if "display_name" in data:
            fields["display_name"] = check_display_name(data["display_name"]) or user.username
        if data.get("password"):
            check_password(data["password"])
            fresh = await self.db.users.get(user.id)
            original = data.get("original_password")
            if not isinstance(original, str) or not await verify_password(fresh.password_hash, original):
                raise AccountError("the current password is wrong", 403)
            fields["password_hash"] = await hash_password(data["password"])
            fields["default_password"] = False
        if not fields:
            raise AccountError("nothing to change: send display_name, or password with original_password")
        await self.db.users.update(user.id, fields)
        await self.forget(user.id)
        return await self.db.users.get(user.id)

    async def delete_self(self, user: User):
        if user.role >= ROLE_ROOT:
            raise AccountError("the root user cannot be deleted", 403)
        await self.db.users.delete(user.id, below_role=ROLE_ROOT)
        await self.forget(user.id)

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
        if needs_rehash(user.password_hash):     # e.g. a bcrypt hash imported from One API
            user.password_hash = await hash_password(password)
            await self.db.users.update(user.id, {"password_hash": user.password_hash})
        return user

    def session_cookie(self, user: User) -> str:
        """A signed session for `user`. It carries a mark of the password it was opened with: a new
        password (set by the user or an administrator) ends every session opened before it."""
        now = int(time.time())
        claims = {"uid": user.id, "pw": self._password_mark(user), "iat": now, "exp": now + SESSION_DAYS * 86400}
        return jwt.encode(claims, self.keyring.session_key, algorithm="HS256")

    async def session_user(self, cookie: str):
        """The user of a valid session cookie, or None."""
        try:
            claims = jwt.decode(cookie, self.keyring.session_key, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        uid, mark = claims.get("uid"), claims.get("pw")
        if not isinstance(uid, int) or not isinstance(mark, str):
            return None
        user = await self.current(uid)
        if user is None or not hmac.compare_digest(mark, self._password_mark(user)):
            return None
        return user

    def _password_mark(self, user: User) -> str:
        key = self.keyring.session_key.encode()
        return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:16]

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
        await self.forget(user.id)
        return token

    def usable_groups(self, user: User) -> dict:
        """Groups the user may pick for a token (option UserUsableGroups, plus the user's own group),
        each with its description and price ratio."""
        groups = dict(self.options["UserUsableGroups"])
        groups.setdefault(user.group, "your group")
        ratios = self.options["GroupRatio"]
        return {name: {"desc": desc, "ratio": ratios.get(name, 1)} for name, desc in groups.items()}

    async def dashboard(self, user: User, days: int, now: float = None, utc_offset: int = 0) -> list:
        """The user's consumption over the last `days` days (today included), per day and model. Days are
        UTC days, or those of the browser's time zone when it sends its offset (minutes east of UTC)."""
        if not 1 <= days <= MAX_DASHBOARD_DAYS:
            raise AccountError(f"days must be 1 to {MAX_DASHBOARD_DAYS}")
        offset, today = local_today(utc_offset, now if now is not None else time.time())
        since = today - (days - 1) * DAY - offset
        rows = []
        for start, groups in await self.db.log_stats.by_day("model_name", since, days, user_id=user.id):
            for model in sorted(groups, key=lambda name: name or ""):
                sums = groups[model]
                rows.append({"day": day_text(start + offset), "model_name": model or "",
                             "request_count": sums["requests"], "quota": sums["quota"],
                             "prompt_tokens": sums["prompt_tokens"], "completion_tokens": sums["completion_tokens"],
                             "tokens": sums["prompt_tokens"] + sums["completion_tokens"]})
        return rows

    async def current(self, user_id: int):
        return await self.keys.user(user_id)
