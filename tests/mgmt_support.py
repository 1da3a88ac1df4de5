"""Helpers for management-API tests: users with sessions at each role."""
import dataclasses

from models.users import User

ROLES = {"user": 1, "admin": 10, "root": 100}


@dataclasses.dataclass
class Person:
    user: object
    cookie: str


async def person(gateway, username, role="user", quota=1_000_000, **fields) -> Person:
    """A user of the given role with a session cookie (no password: these tests never log in by one)."""
    user = User(id=0, username=username, display_name=username, role=ROLES[role], quota=quota, **fields)
    await gateway.services.db.users.create(user)
    return Person(user, f"session={gateway.services.accounts.session_cookie(user)}")


async def token_count(gateway, user_id=None) -> int:
    query = {} if user_id is None else {"user_id": user_id}
    return await gateway.services.db.tokens.collection.count_documents(query)


async def refused(gateway, path, method="GET", cookie=None, json=None, status=403):
    """Assert the call is refused with `status` and a message; returns the message."""
    response = await gateway.fetch(path, method, json=json, cookie=cookie)
    assert response.status == status, (path, response.status, response.body)
    body = response.json
    assert body["success"] is False and body["message"]
    return body["message"]
