"""GET /v1/dashboard/billing/subscription and /usage (also without /v1): OpenAI's billing shapes for a key,
callable from browser tools on any origin."""
from handlers.base import RelayHandler
from handlers.cors import CorsMixin


class KeyBillingHandler(CorsMixin, RelayHandler):
    access = {"GET": "public", "OPTIONS": "public"}

    async def get(self, kind):
        billing = self.services.key_billing
        header = self.request.headers.get("Authorization", "")
        if kind == "subscription":
            self.write_json(await billing.subscription(header))
        else:
            self.write_json(await billing.usage(header))


routes = [(r"/(?:v1/)?dashboard/billing/(subscription|usage)", KeyBillingHandler)]
