"""What administrators do to users: list and find them, create, edit, delete, enable and disable,
promote and demote, credit or debit a balance.

An administrator may only touch users of a lower role than their own; only root promotes and demotes;
nobody demotes, disables or deletes root. Every change drops the user from the caches at once, and
changes to a balance or an account's standing leave a manage log entry (type 3).
"""
import time

from models.logs import TYPE_MANAGE
from models.users import (ORDERS, ROLE_ADMIN, ROLE_ROOT, ROLE_USER, STATUS_DISABLED, STATUS_ENABLED, User,
                          UsernameTaken)
from services.accounts import check_display_name, check_password, check_username
from services.errors import NotFound, ServiceError
from services.keys import Caller
from services.passwords import hash_password

ACTIONS = ("disable", "enable", "delete", "promote", "demote")
MAX_REMARK = 200


class UserAdminError(ServiceError):
    pass


def _whole(data: dict, name: str, minimum=None) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserAdminError(f"{name} must be a whole number")
    if minimum is not None and value < minimum:
        raise UserAdminError(f"{name} must be {minimum} or more")
    return value


class UserAdmin:
    def __init__(self, db, accounts, logs, options):
        self.db = db
        self.accounts = accounts
        self.logs = logs
        self.options = options

    async def page(self, keyword: str, page: int, size: int, order: str = ""):
        if order not in ORDERS:
            raise UserAdminError(f"order must be one of {', '.join(o for o in ORDERS if o)}")
        return await self.db.users.page(keyword, (page - 1) * size, size, order)

    async def target(self, actor: User, user_id=None, username=None) -> User:
        """The user `actor` wants to act on, refused unless its role is lower than the actor's."""
        user = await (self.db.users.get(user_id) if user_id is not None else self.db.users.by_username(username))
        if user is None:
            raise NotFound("no such user")
        if user.role >= actor.role:
            raise UserAdminError("you may not manage a user whose role is equal to or higher than yours", 403)
        return user

    async def create(self, actor: User, data: dict) -> User:
        username, password = check_username(data.get("username")), check_password(data.get("password"))
        display_name = check_display_name(data.get("display_name") or "") or username
        role = data.get("role", ROLE_USER)
        if role not in (ROLE_USER, ROLE_ADMIN) or role >= actor.role:
            raise UserAdminError("role must be 1 (user), or 10 (administrator) when root creates it")
        group = self._group(data["group"]) if "group" in data else "default"
        quota = _whole(data, "quota", 0) if "quota" in data else self.options["QuotaForNewUser"]
        user = User(id=0, username=username, display_name=display_name, role=role, group=group, quota=quota,
                    password_hash=await hash_password(password), created_time=int(time.time()))
        user = await self.accounts.create(user)
        await self._log(actor, user, f"account created by {actor.username} with {quota} quota")
        return user

    async def update(self, actor: User, data: dict) -> User:
        """Edit a user's name, display name, password, group or balance; validated before anything is
        written, and written in one update that also checks role and balance are still as read."""
        user = await self.target(actor, _whole(data, "id"))
        fields = self._fields(data)
        quota_was = None
        if "quota" in data and _whole(data, "quota", 0) != user.balance:
            # `quota` is the balance the administrator saw, which includes what serving processes hold in
            # reserve; the stored field is the rest, so move it by the difference.
            fields["quota"], quota_was = user.quota + data["quota"] - user.balance, user.quota
            if fields["quota"] < 0:
                raise UserAdminError("part of this balance is held by requests in progress; try again shortly", 409)
        if data.get("password"):
            fields["password_hash"] = await hash_password(check_password(data["password"]))
            fields["default_password"] = False
        if not fields:
            return user
        try:
            changed = await self.db.users.update(user.id, fields, below_role=actor.role, quota_was=quota_was)
        except UsernameTaken:
            raise UserAdminError("that username is taken", 409) from None
        if not changed:
            raise UserAdminError("the user changed while you edited it (balance or role); reload and try again", 409)
        await self.accounts.forget(user.id)
        if quota_was is not None:
            await self._log(actor, user, f"{actor.username} set the balance from {user.balance} to {data['quota']}",
                            delta=data["quota"] - user.balance)
        return await self.db.users.get(user.id)

    def _fields(self, data: dict) -> dict:
        fields = {}
        if "username" in data:
            fields["username"] = check_username(data["username"])
        if "display_name" in data:
            fields["display_name"] = check_display_name(data["display_name"])
        if "group" in data:
            fields["group"] = self._group(data["group"])
        if "email" in data:
            if not isinstance(data["email"], str) or len(data["email"]) > 50:
                raise UserAdminError("email must be text of at most 50 characters")
            fields["email"] = data["email"].strip()
        return fields

    def _group(self, group) -> str:
        if not isinstance(group, str) or group not in self.options["GroupRatio"]:
            raise UserAdminError("group must be one of the groups in the GroupRatio option")
        return group

    async def manage(self, actor: User, data: dict) -> User:
        """disable, enable, delete, promote, demote — by `id` or `username`."""
        action = data.get("action")
        if action not in ACTIONS:
            raise UserAdminError(f"action must be one of {', '.join(ACTIONS)}")
        if action in ("promote", "demote") and actor.role < ROLE_ROOT:
            raise UserAdminError("only root may promote or demote users", 403)
        user = await self._named(actor, data, action)
        changes = {"disable": {"status": STATUS_DISABLED}, "enable": {"status": STATUS_ENABLED},
                   "promote": {"role": ROLE_ADMIN}, "demote": {"role": ROLE_USER}}
        if action == "promote" and user.role >= ROLE_ADMIN:
            raise UserAdminError("this user is already an administrator", 409)
        if action == "demote" and user.role <= ROLE_USER:
            raise UserAdminError("this user is already a common user", 409)
        if action == "delete":
            done = await self.db.users.delete(user.id, below_role=actor.role)
            if done:
                await self.db.tokens.delete_of_user(user.id)   # keys of nobody would only clutter the lists
        else:
            done = await self.db.users.update(user.id, changes[action], below_role=actor.role)
        if not done:
            raise UserAdminError("the user changed meanwhile; reload and try again", 409)
        await self.accounts.forget(user.id)
        await self._log(actor, user, f"{actor.username}: {action} user {user.username}")
        return await self.db.users.get(user.id) if action != "delete" else None

    async def _named(self, actor: User, data: dict, action: str) -> User:
        user_id, username = data.get("id"), data.get("username")
        if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
            raise UserAdminError("id must be a whole number")
        if user_id is None and not isinstance(username, str):
            raise UserAdminError("give the user's id or username")
        user = await (self.db.users.get(user_id) if user_id is not None else self.db.users.by_username(username))
        if user is not None and user.role >= ROLE_ROOT and action in ("disable", "delete", "demote"):
            raise UserAdminError(f"the root user cannot be {action}d", 403)
        return await self.target(actor, user_id, username)

    async def delete(self, actor: User, user_id: int):
        await self.manage(actor, {"id": user_id, "action": "delete"})

    async def adjust_quota(self, actor: User, data: dict) -> int:
        """Credit (delta > 0) or debit (delta < 0) a balance atomically; a debit larger than the balance is
        refused and nothing changes. Returns the new balance."""
        user = await self.target(actor, _whole(data, "id"))
        delta = _whole(data, "delta")
        remark = data.get("remark", "")
        if delta == 0:
            raise UserAdminError("delta must not be zero")
        if not isinstance(remark, str) or len(remark) > MAX_REMARK:
            raise UserAdminError(f"remark must be text of at most {MAX_REMARK} characters")
        if delta > 0:
            await self.db.users.give_quota(user.id, delta)
        elif not await self.db.users.take_quota(user.id, -delta):
            raise UserAdminError(f"the available balance is less than {-delta} (quota held by requests in "
                                 "progress returns within seconds); nothing was taken", 409)
        await self.accounts.forget(user.id)
        verb = "credited" if delta > 0 else "debited"
        note = f": {remark}" if remark else ""
        await self._log(actor, user, f"{actor.username} {verb} {abs(delta)} quota{note}", delta=delta, remark=remark)
        return (await self.db.users.get(user.id)).balance

    async def _log(self, actor: User, user: User, content: str, **other):
        await self.logs.write(Caller(None, user), TYPE_MANAGE, content,
                              other={"admin_id": actor.id, "admin": actor.username, **other})
