"""Reading Midjourney tasks: fetch, list-by-condition, image seed, the image proxy and the dashboards."""
import pytest

from tests.mj_support import mj_channel, mj_user, submitted_task
from tests.upstreams.mj_mock import IMAGE, SEED

PUBLIC = "https://gw.example.com"


async def finished_task(gateway, mj_upstream, key, image_ext="png", host_path="attachments"):
    mj_id = await submitted_task(gateway, key)
    mj_upstream.advance(mj_id, "SUCCESS", image_ext=image_ext, host_path=host_path)
    await gateway.services.mj_poller.poll_once()
    return mj_id


@pytest.mark.gen_test
async def test_fetch_returns_the_proxy_shape_with_the_gateways_image_address(gateway, mj_upstream):
    await gateway.services.options.set("ServerAddress", PUBLIC)
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_id = await finished_task(gateway, mj_upstream, key)

    response = await gateway.fetch(f"/mj/task/{mj_id}/fetch", key=key)

    task = response.json
    assert response.status == 200
    assert (task["id"], task["action"], task["status"], task["progress"]) == (mj_id, "IMAGINE", "SUCCESS", "100%")
    assert task["imageUrl"] == f"{PUBLIC}/mj/image/{mj_id}"
    assert task["prompt"] == "a red fox in snow" and task["finishTime"] > 0
    assert [b["label"] for b in task["buttons"]] == ["U1", "U2", "U3", "U4"]
    assert task["properties"] == {"finalPrompt": "a red fox in snow"}   # upstream internals stay inside
    assert mj_upstream.url not in response.body.decode()


@pytest.mark.gen_test
async def test_a_user_sees_only_their_own_tasks(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    _, other_key = await mj_user(gateway, "bob")
    await mj_channel(gateway, mj_upstream)
    mine = await submitted_task(gateway, key)
    theirs = await submitted_task(gateway, other_key)

    denied = await gateway.fetch(f"/mj/task/{theirs}/fetch", key=key)
    seed = await gateway.fetch(f"/mj/task/{theirs}/image-seed", key=key)
    listed = await gateway.fetch("/mj/task/list-by-condition", "POST", json={"ids": [theirs, mine, "nope"]},
                                 key=key)
    empty = await gateway.fetch("/mj/task/list-by-condition", "POST", json={}, key=key)
    bad = await gateway.fetch("/mj/task/list-by-condition", "POST", json={"ids": "x"}, key=key)
    no_key = await gateway.fetch(f"/mj/task/{mine}/fetch")

    assert denied.status == 404 and denied.json["error"]["code"] == "task_not_found"
    assert seed.status == 404
    assert [t["id"] for t in listed.json] == [mine]
    assert empty.status == 200 and empty.json == []
    assert bad.status == 400
    assert no_key.status == 401


@pytest.mark.gen_test
async def test_image_seed_is_asked_of_the_tasks_channel(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_id = await finished_task(gateway, mj_upstream, key)

    response = await gateway.fetch(f"/mj/task/{mj_id}/image-seed", key=key)

    assert response.status == 200 and response.json["code"] == 1 and response.json["result"] == SEED
    method, path, headers, _ = mj_upstream.requests[-1]
    assert (method, path, headers["Mj-Api-Secret"]) == ("GET", f"/mj/task/{mj_id}/image-seed", mj_upstream.secret)


@pytest.mark.gen_test
async def test_image_proxy_streams_the_stored_image_only(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    png = await finished_task(gateway, mj_upstream, key)
    webp = await finished_task(gateway, mj_upstream, key, image_ext="webp")
    pending = await submitted_task(gateway, key)
    chunks = []

    response = await gateway.fetch(f"/mj/image/{png}?url=http://169.254.169.254/latest", key=None,
                                   streaming_callback=chunks.append)
    as_webp = await gateway.fetch(f"/fast/mj/image/{webp}")
    no_image = await gateway.fetch(f"/mj/image/{pending}")
    unknown = await gateway.fetch("/mj/image/12345")

    assert response.status == 200 and response.headers["Content-Type"] == "image/png"
    assert b"".join(chunks) == IMAGE
    assert mj_upstream.image_requests[0] == f"/attachments/{png}.png"
    assert as_webp.status == 200 and as_webp.headers["Content-Type"] == "image/webp" and as_webp.body == IMAGE
    assert no_image.status == 404 and no_image.json["error"]["code"] == "image_not_found"
    assert unknown.status == 404
    assert len(mj_upstream.image_requests) == 2


@pytest.mark.gen_test
async def test_image_proxy_follows_the_image_hosts_redirect(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_id = await finished_task(gateway, mj_upstream, key, host_path="moved")

    response = await gateway.fetch(f"/mj/image/{mj_id}")

    assert response.status == 200 and response.headers["Content-Type"] == "image/png"
    assert response.body == IMAGE


@pytest.mark.gen_test
async def test_image_proxy_refuses_non_http_addresses(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    await mj_channel(gateway, mj_upstream)
    mj_id = await submitted_task(gateway, key)
    task = await gateway.services.db.mj_tasks.by_mj_id(mj_id)
    await gateway.services.db.mj_tasks.update_unfinished(task.id, {"image_url": "file:///etc/passwd"})

    response = await gateway.fetch(f"/mj/image/{mj_id}")

    assert response.status == 404 and b"root:" not in response.body


@pytest.mark.gen_test
async def test_dashboard_lists_are_paged_and_filtered(gateway, mj_upstream):
    _, key = await mj_user(gateway)
    bob, bob_key = await mj_user(gateway, "bob", password="password2")
    channel = await mj_channel(gateway, mj_upstream)
    done = await finished_task(gateway, mj_upstream, key)
    waiting = await submitted_task(gateway, key)
    bobs = await submitted_task(gateway, bob_key)
    root = await gateway.root()
    bob_session = await gateway.login("bob", "password2")

    everything = await gateway.fetch("/api/mj/?p=1&page_size=2", cookie=root)
    succeeded = await gateway.fetch("/api/mj/?status=SUCCESS", cookie=root)
    by_id = await gateway.fetch(f"/api/mj/?mj_id={waiting}", cookie=root)
    by_action = await gateway.fetch("/api/mj/?action=UPSCALE", cookie=root)
    future = await gateway.fetch("/api/mj/?start_timestamp=4000000000", cookie=root)
    own = await gateway.fetch(f"/api/mj/self?user_id=1&channel_id={channel.id}", cookie=bob_session)
    forbidden = await gateway.fetch("/api/mj/", cookie=bob_session)

    assert everything.status == 200
    assert everything.json["data"]["total"] == 3 and len(everything.json["data"]["items"]) == 2
    assert [t["mj_id"] for t in succeeded.json["data"]["items"]] == [done]
    assert succeeded.json["data"]["items"][0]["image_url"].endswith(f"/mj/image/{done}")
    assert succeeded.json["data"]["items"][0]["channel_id"] == channel.id
    assert [t["mj_id"] for t in by_id.json["data"]["items"]] == [waiting]
    assert by_action.json["data"]["total"] == 0 and future.json["data"]["total"] == 0
    assert [t["mj_id"] for t in own.json["data"]["items"]] == [bobs]
    assert "channel_id" not in own.json["data"]["items"][0]
    assert own.json["data"]["items"][0]["user_id"] == bob.id
    assert forbidden.status == 403 and forbidden.json["success"] is False
