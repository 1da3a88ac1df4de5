"""Fixtures for the online top-up tests: a local epay gateway and a local WxPusher, and a helper that
points the gateway's options at them."""
import pytest

from tests.conftest import serve
from tests.upstreams.epay_mock import EpayState, make_epay_app
from tests.upstreams.wxpusher_mock import APP_TOKEN, WxPusherState, make_wxpusher_app

UID = "UID_operator1"


@pytest.fixture
def epay(io_loop):
    state = EpayState()
    server, state.url = serve(io_loop, make_epay_app(state))
    yield state
    io_loop.run_sync(server.close_all_connections)
    server.stop()
    state.http.close()


@pytest.fixture
def wxpusher(io_loop):
    state = WxPusherState()
    server, state.url = serve(io_loop, make_wxpusher_app(state))
    yield state
    io_loop.run_sync(server.close_all_connections)
    server.stop()


async def configure(gateway, epay, wxpusher=None, **extra):
    """Online top-up set up as an operator would, through the option store."""
    values = {"ServerAddress": gateway.url, "PayAddress": epay.url, "EpayId": epay.pid, "EpayKey": epay.key,
              "Price": "7.3", "MinTopUp": "1"}
    if wxpusher is not None:
        values.update({"WxPusherNotificationsEnabled": "true", "WxPusherAddress": wxpusher.url,
                       "WxPusherAppToken": wxpusher.app_token, "WxPusherUids": UID})
    values.update(extra)
    for name, value in values.items():
        await gateway.services.options.set(name, value)


async def order(gateway, cookie, amount=10, method="alipay"):
    """Place an order through the API; returns its data (trade_no, url, params...)."""
    response = await gateway.fetch("/api/user/pay", "POST", json={"amount": amount, "payment_method": method},
                                   cookie=cookie)
    assert response.status == 200, response.body
    return response.json["data"]
