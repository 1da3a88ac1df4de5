"""Operations: a health check for load balancers and Prometheus metrics."""
import asyncio
import hmac

from handlers.base import ApiError, ApiHandler, BaseHandler
from services import health, metrics

PEER_TIMEOUT = 5     # seconds another worker has to give its metrics


class HealthHandler(ApiHandler):
    """GET /api/health: 200 when MongoDB (and Redis, when configured) answer, else 503 with details.
    Not rate limited and never looks up a caller, so probes work while the database is down."""

    access = {"GET": "public"}

    async def prepare(self):
        if self.level() is None:
            raise ApiError(405, "method not allowed")

    async def get(self):
        report = await health.check(self.services)
        healthy = all(part["ok"] for part in report.values() if part is not None)
        self.set_header("Cache-Control", "no-store")
        self.write_json({"success": healthy, "message": "" if healthy else _problem(report), "data": report},
                        200 if healthy else 503)


def _problem(report) -> str:
    return "; ".join(f"{name} unreachable" for name, part in report.items() if part is not None and not part["ok"])


class MetricsHandler(BaseHandler):
    """GET /metrics in Prometheus' text format; behind a bearer token when METRICS_TOKEN is set."""

    access = {"GET": "public"}

    async def get(self):
        expected = self.services.settings.metrics_token
        if expected:
            given = self.request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), expected.encode()):
                self.set_status(401)
                self.set_header("WWW-Authenticate", 'Bearer realm="metrics"')
                return self.finish("metrics need the token set in METRICS_TOKEN\n")
        self.set_header("Content-Type", metrics.CONTENT_TYPE)
        body = metrics.exposition()
        peers = self.settings.get("metrics_peers")      # with --workers N: the others' private ports
        if peers and self.get_query_argument("own", "") != "1":
            body = metrics.merge(body, await self._from_peers(peers))
        self.finish(body)

    async def _from_peers(self, ports) -> list:
        """The other workers' own expositions, from their private loopback ports; one that does not
        answer in time is left out."""
        token = self.request.headers.get("Authorization")
        headers = {"Authorization": token} if token else {}
        answers = await asyncio.gather(*(self.services.upstream.fetch(
            f"http://127.0.0.1:{port}/metrics?own=1", "GET", headers, timeout=PEER_TIMEOUT) for port in ports))
        return [answer.body for answer in answers if answer.status == 200]


routes = [
    (r"/api/health", HealthHandler),
    (r"/metrics", MetricsHandler),
]
