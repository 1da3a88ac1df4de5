"""Helpers for management-API tests: users with sessions at each role."""
import dataclasses

ROLES = {"user": 1, "admin": 10, "root": 100}


@dataclasses.dataclass
class Person:
    user: object
    cookie: str


async def person(gateway, username, role="user", **fields) -> Person:
    """A user of the given role, logged in through the API."""
    user = await gateway.make_user(username=username, role=ROLES[role], **fields)
    return Person(user, await gateway.login(username, "password1"))


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
