"""What a request costs: ratios and fixed prices from the options, and the quota arithmetic.

quota = group ratio × model ratio × (prompt + completion × completion ratio), 500 000 quota = 1 USD;
a model with a fixed price costs price × QuotaPerUnit × group ratio per call instead.
"""
import dataclasses
import fnmatch
from decimal import ROUND_HALF_UP, Decimal


class PriceNotSet(Exception):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class Price:
    model_ratio: float
    completion_ratio: float
    group_ratio: float
    fixed_price: float = None     # USD per call, when the model is priced per call

    @property
    def per_call(self) -> bool:
        return self.fixed_price is not None


def _exact(value) -> Decimal:
    return Decimal(str(value))


class Pricing:
    def __init__(self, options):
        self.options = options

    def group_ratio(self, group: str) -> float:
        return self.options["GroupRatio"].get(group, 1)

    def price(self, model: str, group: str, per_call_token: bool = False) -> Price:
        group_ratio = self.group_ratio(group)
        fixed = self._fixed_price(model)
        ratio = self.options["ModelRatio"].get(model)
        if fixed is not None and (ratio is None or per_call_token):
            return Price(0, 0, group_ratio, fixed)
        if ratio is None:
            raise PriceNotSet(model)
        completion = self.options["CompletionRatio"].get(model, 1)
        return Price(ratio, completion, group_ratio)

    def _fixed_price(self, model: str):
        prices = self.options["ModelPrice"]
        if model in prices:
            return prices[model]
        for pattern, value in prices.items():
            if "*" in pattern and fnmatch.fnmatchcase(model, pattern):
                return value
        return None

    def quota(self, price: Price, prompt_tokens: int, completion_tokens: int) -> int:
        if price.per_call:
            return self.call_quota(price)
        tokens = _exact(prompt_tokens) + _exact(completion_tokens) * _exact(price.completion_ratio)
        exact = tokens * _exact(price.model_ratio) * _exact(price.group_ratio)
        quota = int(exact.to_integral_value(rounding=ROUND_HALF_UP))
        if quota == 0 and exact > 0:
            return 1  # any paid usage costs at least one unit
        return quota

    def call_quota(self, price: Price) -> int:
        exact = _exact(price.fixed_price) * self.options["QuotaPerUnit"] * _exact(price.group_ratio)
        return int(exact.to_integral_value(rounding=ROUND_HALF_UP))
