"""OpenAI's billing endpoints answered for a Tollgate key, for key-based tools (neko-api-key-tool and the like).

The numbers come from the token (option DisplayTokenStatEnabled, on by default) or from its owner, in
USD when DisplayInCurrencyEnabled is on (quota / QuotaPerUnit) and in quota units otherwise:
  subscription: hard limit = remaining + used (an unlimited token shows 100 000 000); access_until = expiry
  usage:        total_usage = used × 100 (OpenAI reports usage in cents)
A key reads its numbers even when disabled, expired or spent; only its owner's account must be enabled.
"""
from models.users import STATUS_ENABLED
from services.errors import RelayError
from services.keys import split_key

UNLIMITED_AMOUNT = 100_000_000


class KeyBilling:
    def __init__(self, keys, options):
        self.keys = keys
        self.options = options

    async def _owner(self, header: str):
        key, _ = split_key(header)
        token = await self.keys.token(key) if key and len(key) <= 128 else None
        if token is None:
            raise RelayError(401, "Invalid API key.", "invalid_api_key", "invalid_request_error")
        user = await self.keys.user(token.user_id)
        if user is None or user.status != STATUS_ENABLED:
            raise RelayError(403, "The owner of this key is disabled.", "user_disabled")
        return token, user

    def _amount(self, quota: int) -> float:
        if self.options["DisplayInCurrencyEnabled"]:
            return quota / self.options["QuotaPerUnit"] if self.options["QuotaPerUnit"] else 0.0
        return float(quota)

    def _by_token(self) -> bool:
        return self.options["DisplayTokenStatEnabled"]

    async def subscription(self, header: str) -> dict:
        token, user = await self._owner(header)
        if self._by_token():
            amount = UNLIMITED_AMOUNT if token.unlimited_quota else self._amount(token.balance + token.used_quota)
            access_until = max(token.expired_time, 0)
        else:
            amount, access_until = self._amount(user.balance + user.used_quota), 0
        return {"object": "billing_subscription", "has_payment_method": True, "soft_limit_usd": amount,
                "hard_limit_usd": amount, "system_hard_limit_usd": amount, "access_until": access_until}

    async def usage(self, header: str) -> dict:
        token, user = await self._owner(header)
        used = token.used_quota if self._by_token() else user.used_quota
        return {"object": "list", "total_usage": self._amount(used) * 100}
