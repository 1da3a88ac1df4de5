"""epay's MD5 signing rule against the published and worked test vectors."""
import pytest

from services.payments import sign, string_to_sign, verify
from tests.upstreams.epay_mock import epay_sign

NOTIFY_URL = "https://gw.example.com/api/user/epay/notify"
RETURN_URL = "https://gw.example.com/topup"


def test_go_epay_vector():
    assert sign({"device": "devicev", "money": "moneyv"}, "1234567") == "3854cc9f022e0fb821bd2e002260245d"


def test_order_vector_drops_sign_type_and_empty_values():
    params = {"pid": "1001", "type": "alipay", "out_trade_no": "USR42NOab12cd1700000000",
              "notify_url": NOTIFY_URL, "return_url": RETURN_URL, "name": "TUC10", "money": "73.00",
              "sitename": "ExampleGW", "param": "", "sign_type": "MD5"}
    assert string_to_sign(params) == (
        "money=73.00&name=TUC10&notify_url=https://gw.example.com/api/user/epay/notify"
        "&out_trade_no=USR42NOab12cd1700000000&pid=1001&return_url=https://gw.example.com/topup"
        "&sitename=ExampleGW&type=alipay")
    assert sign(params, "TESTKEY123456789") == "47c53738ae69a4b6e8566cbaeba1fe42"


def test_notify_vector_and_verification():
    params = {"pid": "1001", "trade_no": "2024010112000012345", "out_trade_no": "USR42NOab12cd1700000000",
              "type": "alipay", "name": "TUC10", "money": "73.00", "trade_status": "TRADE_SUCCESS",
              "param": "", "sign_type": "MD5"}
    assert sign(params, "TESTKEY123456789") == "b48e39f8a7402a8912def5ce2f1b4cae"
    signed = {**params, "sign": "b48e39f8a7402a8912def5ce2f1b4cae"}
    assert verify(signed, "TESTKEY123456789")
    assert verify({**signed, "sign": signed["sign"].upper()}, "TESTKEY123456789")
    assert not verify(signed, "TESTKEY12345678")                       # another key
    assert not verify({**signed, "money": "0.01"}, "TESTKEY123456789")  # a changed value
    assert not verify(params, "TESTKEY123456789")                      # no sign at all
    assert not verify(signed, "")                                      # no key configured


def test_non_ascii_values_are_signed_as_utf8():
    params = {"pid": "1001", "type": "wxpay", "out_trade_no": "T1", "notify_url": "http://a.b/n",
              "return_url": "http://a.b/r", "name": "充值10美元", "money": "0.01"}
    assert sign(params, "TESTKEY123456789") == "c2e2ec0159017d45eb752866efa7c799"


@pytest.mark.parametrize("params, expected", [
    ({"pid": "1001", "type": "alipay", "out_trade_no": "USR5NOab12cd1700000000", "notify_url": NOTIFY_URL,
      "return_url": RETURN_URL, "name": "TUC10", "money": "73.00", "device": "pc"},
     "0c365244395dfeb1ed15a22c41a07905"),
    ({"pid": "1001", "trade_no": "2024010112345678", "out_trade_no": "USR5NOab12cd1700000000",
      "type": "alipay", "name": "TUC10", "money": "73.00", "trade_status": "TRADE_SUCCESS"},
     "07ad1fdc52ac7e78fd2767511d59a70e"),
])
def test_more_vectors_and_the_mock_gateway_agrees(params, expected):
    assert sign(params, "merchantsecretkey123") == expected
    assert epay_sign(params, "merchantsecretkey123") == expected
