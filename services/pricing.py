"""What a request costs: ratios and fixed prices from the options, and the quota arithmetic.

quota = group ratio × model ratio × (prompt + completion × completion ratio), 500 000 quota = 1 USD;
a model with a fixed price costs price × QuotaPerUnit × group ratio per call instead.
Tokens read from an upstream's prompt cache cost the cache ratio instead of 1, tokens written to it the
cache-creation ratio (both looked up by model, wildcards allowed, 1 when unset).
"""
import dataclasses
import fnmatch
import functools
from decimal import Decimal


MAX_CACHED_PRICES = 10_000


class PriceNotSet(Exception):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class Price:
    model_ratio: float
    completion_ratio: float
    group_ratio: float
    fixed_price: float = None     # USD per call, when the model is priced per call
    cache_ratio: float = 1
    cache_creation_ratio: float = 1

    @property
    def per_call(self) -> bool:
        return self.fixed_price is not None


@functools.lru_cache(maxsize=4096)
def _exact(value) -> tuple:
    """A ratio as the fraction (numerator, denominator) of the decimal it was written as: 0.1 is 1/10, not
    the float nearest to it. Integer arithmetic on these is exact at any size and several times faster
    than Decimal's; the same few ratios come back on every request."""
    return Decimal(str(value)).as_integer_ratio()


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (both ≥ 0, denominator > 0) to the nearest whole number, halves up."""
    return (2 * numerator + denominator) // (2 * denominator)


class Pricing:
    def __init__(self, options):
        self.options = options
        self._prices = {}             # (model, group, per call) → Price, for the current options
        self._version = None

    def group_ratio(self, group: str) -> float:
        return self.options["GroupRatio"].get(group, 1)

    def price(self, model: str, group: str, per_call_token: bool = False) -> Price:
        if self._version != self.options.version:
            self._prices, self._version = {}, self.options.version
        key = (model, group, per_call_token)
        price = self._prices.get(key)
        if price is None:
            price = self._price(model, group, per_call_token)
            if len(self._prices) < MAX_CACHED_PRICES:
                self._prices[key] = price
        return price

    def _price(self, model: str, group: str, per_call_token: bool) -> Price:
        group_ratio = self.group_ratio(group)
        fixed = self._fixed_price(model)
        ratio = self.options["ModelRatio"].get(model)
        if fixed is not None and (ratio is None or per_call_token):
            return Price(0, 0, group_ratio, fixed)
        if ratio is None:
            ratio = self.options["DefaultModelRatio"]   # the operator's price for models not listed
            if ratio is None:
                raise PriceNotSet(model)
        completion = self.options["CompletionRatio"].get(model, 1)
        cache = _lookup(self.options["CacheRatio"], model)
        creation = _lookup(self.options["CacheCreationRatio"], model)
        return Price(ratio, completion, group_ratio, None, 1 if cache is None else cache,
                     1 if creation is None else creation)

    def _fixed_price(self, model: str):
        return _lookup(self.options["ModelPrice"], model)

    def quota(self, price: Price, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0,
              cache_creation_tokens: int = 0) -> int:
        if price.per_call:
            return self.call_quota(price)
        cached = min(cached_tokens, prompt_tokens)
        creation = min(cache_creation_tokens, prompt_tokens - cached)
        # Σ tokens × weight over one common denominator, then × model ratio × group ratio
        numerator, denominator = prompt_tokens - cached - creation, 1
        for count, ratio in ((cached, price.cache_ratio), (creation, price.cache_creation_ratio),
                             (completion_tokens, price.completion_ratio)):
            if count:
                top, bottom = _exact(ratio)
                numerator, denominator = numerator * bottom + count * top * denominator, denominator * bottom
        for ratio in (price.model_ratio, price.group_ratio):
            top, bottom = _exact(ratio)
            numerator, denominator = numerator * top, denominator * bottom
        quota = _round_half_up(numerator, denominator)
        if quota == 0 and numerator > 0:
            return 1  # any paid usage costs at least one unit
        return quota

    def listing(self, models, group: str) -> list:
        """The price list of `models` as a group sees it: ratios (before the group ratio) or the fixed
        price per call; a model without either shows None for all three."""
        rows = []
        for model in models:
            try:
                price = self.price(model, group)
            except PriceNotSet:
                price = None
            per_call = price is not None and price.per_call
            rows.append({"model_name": model,
                         "model_ratio": price.model_ratio if price and not per_call else None,
                         "completion_ratio": price.completion_ratio if price and not per_call else None,
                         "model_price": price.fixed_price if per_call else None})
        return rows

    def call_quota(self, price: Price) -> int:
        (price_top, price_bottom), (group_top, group_bottom) = _exact(price.fixed_price), _exact(price.group_ratio)
        per_unit_top, per_unit_bottom = _exact(self.options["QuotaPerUnit"])
        return _round_half_up(price_top * per_unit_top * group_top, price_bottom * per_unit_bottom * group_bottom)


def _lookup(table: dict, model: str):
    """The value for `model`: its own entry first, then the first wildcard pattern that matches it."""
    if model in table:
        return table[model]
    for pattern, value in table.items():
        if "*" in pattern and fnmatch.fnmatchcase(model, pattern):
            return value
    return None
