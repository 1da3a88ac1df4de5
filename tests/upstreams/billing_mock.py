"""OpenAI's billing endpoints on the mock upstream, as channel balance queries read them.

  key-dead    401 invalid_api_key
  key-broke   a spent account: limit 10 USD, 1000 cents used
  other keys  limit HARD_LIMIT_USD, USED_CENTS used
"""
from tornado.web import RequestHandler

HARD_LIMIT_USD = 120.0
USED_CENTS = 2050.0
BALANCE = HARD_LIMIT_USD - USED_CENTS / 100


class BillingHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    def get(self, kind):
        headers = dict(self.request.headers)
        self.state.requests.append((self.request.uri, headers, None))
        key = headers.get("Authorization", "").removeprefix("Bearer ")
        if key == "key-dead":
            self.set_status(401)
            return self.finish({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                          "param": None, "code": "invalid_api_key"}})
        limit, used = (10.0, 1000.0) if key == "key-broke" else (HARD_LIMIT_USD, USED_CENTS)
        if kind == "subscription":
            return self.finish({"object": "billing_subscription", "has_payment_method": True,
                                "soft_limit_usd": limit, "hard_limit_usd": limit, "system_hard_limit_usd": limit,
                                "access_until": 0})
        self.finish({"object": "list", "total_usage": used})


def billing_routes(state) -> list:
    return [(r"/v1/dashboard/billing/(subscription|usage)", BillingHandler, {"state": state})]
