"""Set-up shared by the Midjourney tests."""
MJ_MODELS = ("mj_imagine,mj_variation,mj_upscale,mj_reroll,mj_blend,mj_describe,mj_modal,mj_shorten,"
             "mj_zoom,mj_pan")
QUOTA_PER_USD = 500_000
IMAGINE_COST = int(0.1 * QUOTA_PER_USD)
UPSCALE_COST = int(0.05 * QUOTA_PER_USD)


async def mj_channel(gateway, mj_upstream, channel_type=2, **fields):
    return await gateway.make_channel(mj_upstream.url, key=mj_upstream.secret, models=MJ_MODELS,
                                      type=channel_type, name=fields.pop("name", "midjourney"), **fields)


async def mj_user(gateway, username="alice", quota=1_000_000, **fields):
    user = await gateway.make_user(username=username, quota=quota, **fields)
    return user, await gateway.make_token(user)


async def imagine(gateway, key, prompt="a red fox in snow", path="/mj/submit/imagine", **extra):
    return await gateway.fetch(path, "POST", json={"prompt": prompt, **extra}, key=key)


async def submitted_task(gateway, key, **extra) -> str:
    response = await imagine(gateway, key, **extra)
    assert response.status == 200 and response.json["code"] == 1, response.body
    return response.json["result"]


async def task_doc(gateway, mj_id):
    return await gateway.services.db.mj_tasks.by_mj_id(mj_id)


async def use_notify(gateway):
    """Give the gateway its public address, so submits carry the gateway's notify hook."""
    await gateway.services.options.set("ServerAddress", gateway.url)
