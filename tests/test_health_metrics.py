"""GET /api/health and GET /metrics: what a load balancer and Prometheus see."""
import asyncio
import re
import types

import pytest
from prometheus_client.parser import text_string_to_metric_families

from models.db import connect
from services import health, metrics
from services.embedded_mongo import free_port
from tests.upstreams.openai_mock import REPLY_WORDS

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.fixture
def settings_overrides(request):
    """Parametrised per test: "redis" means the test Redis, "redis-down" a port nothing listens on."""
    mode = getattr(request, "param", {})
    if mode == "redis":
        return {"redis_conn_string": request.getfixturevalue("redis_url")}
    if mode == "redis-down":
        return {"redis_conn_string": f"redis://127.0.0.1:{free_port()}/0"}
    return mode


def metric(text: str, name: str, **labels) -> float:
    """A value from the exposition text (what Prometheus would scrape)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name and ",".join(sorted((match[2] or "").split(","))) == want:
            return float(match[3])
    return 0.0


@pytest.mark.gen_test
async def test_health_without_redis(gateway):
    response = await gateway.fetch("/api/health")
    assert response.status == 200
    body = response.json
    assert body["success"] is True and body["data"]["mongodb"]["ok"] is True and body["data"]["redis"] is None


@pytest.mark.parametrize("settings_overrides", ["redis"], indirect=True)
@pytest.mark.gen_test
async def test_health_with_redis(gateway):
    response = await gateway.fetch("/api/health")
    assert response.status == 200 and response.json["data"]["redis"]["ok"] is True


@pytest.mark.parametrize("settings_overrides", ["redis-down"], indirect=True)
@pytest.mark.gen_test
async def test_health_is_503_when_redis_is_down(gateway):
    response = await gateway.fetch("/api/health")
    assert response.status == 503
    body = response.json
    assert body["success"] is False and body["message"] == "redis unreachable"
    assert body["data"]["mongodb"]["ok"] is True and body["data"]["redis"]["ok"] is False


@pytest.mark.gen_test(timeout=30)
async def test_health_reports_an_unreachable_mongodb():
    db = connect(f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300", "none")
    try:
        report = await health.check(types.SimpleNamespace(db=db, redis=None))
    finally:
        await db.close()
    assert report["mongodb"]["ok"] is False and report["mongodb"]["error"]


@pytest.mark.gen_test(timeout=30)
async def test_metrics_count_requests_errors_and_quota(gateway, upstream):
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    broken = await gateway.make_channel(upstream.url, key="key-500", name="broken", priority=10)
    working = await gateway.make_channel(upstream.url, key="key-ok", name="working")
    before = (await gateway.fetch("/metrics")).body.decode()

    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)
    assert response.status == 200
    await gateway.settled()
    after = await gateway.fetch("/metrics")

    assert after.status == 200 and after.headers["Content-Type"].startswith("text/plain")
    text = after.body.decode()
    [entry] = await gateway.logs(user_id=user.id)

    def delta(name, **labels):
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert delta("tollgate_http_requests_total", handler="RelayCallHandler", method="POST", status="200") == 1
    assert delta("tollgate_http_request_duration_seconds_count", handler="RelayCallHandler") == 1
    assert delta("tollgate_upstream_errors_total", channel=str(broken.id), status="500") == 1
    assert delta("tollgate_upstream_errors_total", channel=str(working.id), status="500") == 0
    assert delta("tollgate_quota_charged_total", channel=str(working.id)) == entry["quota"] > 0


@pytest.mark.gen_test(timeout=30)
async def test_active_streams_gauge(gateway, upstream):
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url, key="key-hold")
    idle = metrics.sample("tollgate_active_streams")
    chunks, first_chunk = [], asyncio.Event()

    def received(chunk):
        chunks.append(chunk)
        first_chunk.set()

    call = asyncio.ensure_future(gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, "stream": True},
                                               key=key, streaming_callback=received))
    await first_chunk.wait()               # the first chunk reached the client: the stream is open
    during = metric((await gateway.fetch("/metrics")).body.decode(), "tollgate_active_streams")
    upstream.release.set()
    assert (await call).status == 200
    await gateway.settled()

    assert during == idle + 1
    assert metrics.sample("tollgate_active_streams") == idle
    assert REPLY_WORDS[-1] in b"".join(chunks).decode()


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": "s3cret"}], indirect=True)
@pytest.mark.gen_test
async def test_metrics_token(gateway):
    assert (await gateway.fetch("/metrics")).status == 401
    assert (await gateway.fetch("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    response = await gateway.fetch("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status == 200 and b"tollgate_http_requests_total" in response.body


def test_merged_metrics_sum_the_gateway_series_and_keep_the_process_own():
    own = (b"# TYPE tollgate_quota_charged counter\ntollgate_quota_charged_total{channel=\"1\"} 5.0\n"
           b"# TYPE tollgate_active_streams gauge\ntollgate_active_streams 2.0\n"
           b"# TYPE process_open_fds gauge\nprocess_open_fds 30.0\n")
    other = (b"# TYPE tollgate_quota_charged counter\ntollgate_quota_charged_total{channel=\"1\"} 7.0\n"
             b"tollgate_quota_charged_total{channel=\"2\"} 1.0\n"
             b"# TYPE tollgate_active_streams gauge\ntollgate_active_streams 3.0\n"
             b"# TYPE process_open_fds gauge\nprocess_open_fds 90.0\n")
    merged = {(item.name, tuple(item.labels.items())): item.value
              for family in text_string_to_metric_families(metrics.merge(own, [other]).decode())
              for item in family.samples}
    assert merged == {("tollgate_quota_charged_total", (("channel", "1"),)): 12.0,
                      ("tollgate_quota_charged_total", (("channel", "2"),)): 1.0,
                      ("tollgate_active_streams", ()): 5.0, ("process_open_fds", ()): 30.0}
