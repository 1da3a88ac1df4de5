"""A small HTTP client for the tests: JSON in and out (checking the content type of every JSON answer),
sessions, streams, and set-up helpers that go through the real services."""
import dataclasses

import ujson
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from models.users import User
from services.passwords import hash_password


@dataclasses.dataclass
class Response:
    status: int
    headers: object
    body: bytes

    @property
    def json(self):
        content_type = self.headers.get("Content-Type", "")
        assert content_type.startswith("application/json"), f"not JSON: {content_type} {self.body[:200]!r}"
        return ujson.loads(self.body)


class GatewayClient:
    def __init__(self, url, services):
        self.url = url
        self.services = services
        self.http = AsyncHTTPClient(force_instance=True, max_clients=500)

    async def fetch(self, path, method="GET", json=None, key=None, cookie=None, headers=None, body=None,
                    streaming_callback=None, timeout=30) -> Response:
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if cookie:
            headers["Cookie"] = cookie
        if json is not None:
            body = ujson.dumps(json)
            headers.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        request = HTTPRequest(self.url + path, method=method, headers=headers, body=body,
                              streaming_callback=streaming_callback, request_timeout=timeout,
                              allow_nonstandard_methods=True)
        response = await self.http.fetch(request, raise_error=False)
        return Response(response.code, response.headers, response.body or b"")

    async def login(self, username, password) -> str:
        """Log in through the API; returns the session cookie to send back."""
        response = await self.fetch("/api/user/login", "POST", json={"username": username, "password": password})
        assert response.status == 200, response.body
        cookie = response.headers.get("Set-Cookie")
        return cookie.split(";", 1)[0]

    async def root(self) -> str:
        return await self.login("root", "123456")

    # Set-up through the services (what the management API would do) ---------------------------
    async def make_user(self, username="alice", quota=1_000_000, role=1, group="default", password="password1"):
        user = User(id=0, username=username, password_hash=await hash_password(password), role=role,
                    quota=quota, group=group, display_name=username)
        return await self.services.db.users.create(user)

    async def make_token(self, user, **fields) -> str:
        fields.setdefault("name", "test")
        if "remain_quota" not in fields:
            fields.setdefault("unlimited_quota", True)
        token, key = await self.services.tokens.create(user.id, fields)
        return key

    async def make_channel(self, upstream_url, key="key-ok", models="gpt-4o-mini", **fields):
        created = await self.services.channels.create({
            "name": fields.pop("name", "mock"), "type": 1, "key": key, "base_url": upstream_url,
            "models": models, **fields,
        })
        return created[0]

    async def settled(self):
        """Wait until every call's bill is settled (that happens after its answer was sent), and write
        what the process holds in memory: batched counters and logs, and its quota reserves."""
        await self.services.inflight.idle()
        await self.services.batch.flush()
        await self.services.book.release_all()

    async def quota_of(self, user):
        await self.settled()
        return (await self.services.db.users.get(user.id)).quota

    async def logs(self, **filters):
        await self.settled()
        docs, _ = await self.services.db.logs.page(filters, 0, 1000)
        return docs
