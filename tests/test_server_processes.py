"""server.py as real processes on the session's database: several workers never overdraw, and SIGTERM
lets streams in flight finish (or, past the grace period, ends them) with every bill settled."""
import asyncio
import collections
import itertools
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from conf.settings import load_settings
from services.embedded_mongo import free_port
from services.runtime import build_services
from tests.client import GatewayClient
from tests.process import ServerProcess

CHAT = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}'
STREAM = b'{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Say hello"}]}'
_names = itertools.count(1)


@pytest.fixture
def world(io_loop, mongo_uri, upstream, tmp_path):
    """A database with a user, a key and a channel to the local upstream, and a way to start server.py on it."""
    db_name = f"tollgate_proc_{next(_names)}"
    settings = load_settings(env={}, data_dir=str(tmp_path), mongodb_db=db_name, session_secret="s")
    services = io_loop.run_sync(lambda: build_services(settings, mongo_uri))
    setup = GatewayClient("", services)
    servers = []

    async def start(quota, channel_key="key-ok", args=(), env=None):
        user = await setup.make_user(quota=quota)
        key = await setup.make_token(user)
        await setup.make_channel(upstream.url, key=channel_key)
        server = ServerProcess(free_port(), tmp_path, args=args, env={
            "MONGODB_URI": mongo_uri, "MONGODB_DB": db_name, "SESSION_SECRET": "s", **(env or {})})
        servers.append(server)
        return server, user, key

    yield setup, start
    for server in servers:
        server.stop()
    io_loop.run_sync(lambda: services.db.client.drop_database(db_name))
    io_loop.run_sync(services.close)


ACCESS_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|ERROR) \[(?P<pid>\d+)\] tollgate.access "
                         r"(200|403) POST /v1/chat/completions 127\.0\.0\.1 [\d.]+ms id=[0-9a-f]{16}")


async def wait_for(server, pattern, count=1):
    return await asyncio.get_running_loop().run_in_executor(None, server.wait_for, pattern, count)


def chat(server, key, body=CHAT, **kwargs):
    return HTTPRequest(f"http://127.0.0.1:{server.port}/v1/chat/completions", "POST", body=body,
                       headers={"Authorization": f"Bearer {key}"}, request_timeout=60, **kwargs)


@pytest.mark.gen_test(timeout=180)
async def test_two_workers_never_overdraw(world):
    setup, start = world
    quota = 1000            # enough for a few calls at a time, not for 200 at once
    server, user, key = await start(quota, args=["--workers", "2"])
    await wait_for(server, "listening on", count=2)
    http = AsyncHTTPClient(force_instance=True, max_clients=200)

    responses = await asyncio.gather(*[http.fetch(chat(server, key), raise_error=False) for _ in range(200)])

    codes = [r.code for r in responses]
    assert set(codes) <= {200, 403} and 200 in codes
    # Bills are settled after each answer is sent; a stopping server settles every one before it exits.
    assert await asyncio.get_running_loop().run_in_executor(None, server.stop) == 0
    left = await setup.quota_of(user)
    logs = await setup.logs(user_id=user.id)
    assert left >= 0
    assert sum(entry["quota"] for entry in logs) == quota - left
    assert len(logs) == codes.count(200)
    calls = [ACCESS_LINE.fullmatch(line) for line in server.access_lines() if "POST /v1/chat/completions" in line]
    assert len(calls) == 200 and all(calls)                 # every call, each line whole though both wrote
    assert len({call.group("pid") for call in calls}) == 2   # both workers took calls


@pytest.mark.gen_test(timeout=180)
async def test_a_burst_of_new_connections_is_spread_over_the_workers(world):
    setup, start = world
    server, user, key = await start(10_000_000, args=["--workers", "2"])
    await wait_for(server, "listening on", count=2)
    heads = []
    for _ in range(6):
        heads += await burst(server.port, key, 40)
        # Not a wait for anything: the workers idle a moment between bursts, as they would between a
        # client's pools. Idle workers on one shared socket are where a burst lands on one of them.
        await asyncio.sleep(0.5)

    assert len(heads) == 240 and all(head.startswith(b"HTTP/1.1 200") for head in heads)
    assert await asyncio.get_running_loop().run_in_executor(None, server.stop) == 0
    pids = collections.Counter(line.split("[", 1)[1].split("]", 1)[0] for line in server.access_lines()
                               if "GET /v1/models" in line)
    # 240 connections hashed over two sockets: fewer than 80 on one is a 1-in-5,000,000 chance
    assert len(pids) == 2 and min(pids.values()) >= 80, pids


@pytest.mark.gen_test(timeout=180)
async def test_any_worker_answers_metrics_for_all_of_them(world):
    setup, start = world
    server, user, key = await start(10_000_000, args=["--workers", "2"])
    await wait_for(server, "listening on", count=2)
    # 40 connections hashed over two sockets: all on one worker is a 1-in-500,000,000,000 chance
    heads = await burst(server.port, key, 40)
    assert len(heads) == 40 and all(head.startswith(b"HTTP/1.1 200") for head in heads)

    scrapes = [await scrape(server.port) for _ in range(6)]      # each on a new connection: either worker

    assert [models_answered(text) for text in scrapes] == [40] * 6
    assert await asyncio.get_running_loop().run_in_executor(None, server.stop) == 0


async def scrape(port) -> str:
    http = AsyncHTTPClient(force_instance=True)
    try:
        return (await http.fetch(f"http://127.0.0.1:{port}/metrics")).body.decode()
    finally:
        http.close()


def models_answered(text: str) -> float:
    return sum(item.value for family in text_string_to_metric_families(text) for item in family.samples
               if item.name == "tollgate_http_requests_total" and item.labels["handler"] == "ModelsHandler")


async def burst(port, key, count):
    """`count` connections opened at once (as a client filling its pool does), then one call on each."""
    connections = await asyncio.gather(*[asyncio.open_connection("127.0.0.1", port) for _ in range(count)])
    for _, writer in connections:
        writer.write(f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    heads = [await reader.readuntil(b"\r\n\r\n") for reader, _ in connections]
    for _, writer in connections:
        writer.close()
    return heads


@pytest.mark.gen_test(timeout=120)
async def test_sigterm_lets_a_stream_in_flight_finish_and_bills_it(world, upstream):
    setup, start = world
    server, user, key = await start(1_000_000, channel_key="key-hold")
    await wait_for(server, "listening on")
    chunks = []
    http = AsyncHTTPClient(force_instance=True)
    call = asyncio.ensure_future(http.fetch(chat(server, key, STREAM, streaming_callback=chunks.append)))
    await upstream.held.wait()

    server.terminate()
    await wait_for(server, "stopping: 1 calls in flight")
    upstream.release.set()
    response = await call

    assert response.code == 200 and b"data: [DONE]" in b"".join(chunks)
    assert await asyncio.get_running_loop().run_in_executor(None, server.stop) == 0
    [entry] = await setup.logs(user_id=user.id)
    assert entry["quota"] > 0 and entry["completion_tokens"] == 7


@pytest.mark.gen_test(timeout=120)
async def test_past_the_grace_period_streams_are_ended_and_billed_for_what_they_produced(world, upstream):
    setup, start = world
    server, user, key = await start(1_000_000, channel_key="key-hold", env={"SHUTDOWN_GRACE_SECONDS": "0"})
    await wait_for(server, "listening on")
    http = AsyncHTTPClient(force_instance=True)
    call = asyncio.ensure_future(http.fetch(chat(server, key, STREAM, streaming_callback=lambda _: None),
                                            raise_error=False))
    await upstream.held.wait()

    server.terminate()
    await upstream.closed_early.wait()      # the gateway stopped the upstream transfer
    await call
    assert await asyncio.get_running_loop().run_in_executor(None, server.stop) == 0
    [entry] = await setup.logs(user_id=user.id)
    produced = setup.services.tokenizer.count_text("gpt-4o-mini", "Hello")
    assert entry["completion_tokens"] == produced and entry["quota"] > 0
