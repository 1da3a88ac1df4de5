"""Helpers for the management API tests: users of each role with a session, and envelope checks."""
import asyncio

from models.users import ROLE_ADMIN, ROLE_USER

PASSWORD = "password1"


async def session(gateway, username, role=ROLE_USER, quota=0, **fields):
    """A new user of `role`, logged in through the API; returns (user, cookie)."""
    user = await gateway.make_user(username, quota=quota, role=role, password=PASSWORD, **fields)
    return user, await gateway.login(username, PASSWORD)


async def admin(gateway, username="admin1"):
    return await session(gateway, username, ROLE_ADMIN)


def ok(response):
    """The envelope's data, after checking it is a success."""
    body = response.json
    assert response.status == 200 and body["success"] is True, (response.status, body)
    return body["data"]


def refused(response, status, words=""):
    """Check a failure: its status, the envelope and (part of) its message."""
    body = response.json
    assert response.status == status, (response.status, body)
    assert body["success"] is False and body["message"], body
    assert words.lower() in body["message"].lower(), body["message"]
    return body["message"]


async def warm_pool(gateway, width=50, rounds=3):
    """Open many MongoDB connections first: on a cold pool the driver runs concurrent operations almost
    one after another, which would hide a check-then-write race from a concurrency test."""
    for _ in range(rounds):
        await asyncio.gather(*[gateway.services.db.users.get(0) for _ in range(width)])
