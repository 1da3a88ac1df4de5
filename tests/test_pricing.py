"""The quota arithmetic on its own: exact fractions of the ratios as written, halves rounded up."""
import random
from fractions import Fraction

from services.pricing import Price, Pricing

OPTIONS = {"QuotaPerUnit": 500_000}


def written(value) -> Fraction:
    return Fraction(str(value))     # 0.1 as the 1/10 an operator wrote, not the float nearest to it


def reference(price, prompt, completion, cached=0, creation=0) -> int:
    cached = min(cached, prompt)
    creation = min(creation, prompt - cached)
    tokens = (prompt - cached - creation + cached * written(price.cache_ratio)
              + creation * written(price.cache_creation_ratio) + completion * written(price.completion_ratio))
    exact = tokens * written(price.model_ratio) * written(price.group_ratio)
    whole = int(exact + Fraction(1, 2)) if exact >= 0 else None    # floor(x + ½): halves go up
    return 1 if whole == 0 and exact > 0 else whole


def test_halves_round_up_and_decimals_count_as_written():
    pricing = Pricing(OPTIONS)
    assert pricing.quota(Price(0.075, 4, 1), 11, 7) == 3           # 0.075 × 39 = 2.925
    assert pricing.quota(Price(0.5, 1, 1), 5, 0) == 3               # 2.5 exactly: up
    assert pricing.quota(Price(0.1, 1, 3), 5, 0) == 2               # 1.5 only if 0.1 is 1/10
    assert pricing.quota(Price(0.3, 1, 1), 5, 0) == 2               # 1.5 (the float 0.3 is below 3/10)


def test_any_paid_usage_costs_at_least_one_unit_and_nothing_costs_nothing():
    pricing = Pricing(OPTIONS)
    assert pricing.quota(Price(0.0001, 1, 1), 1, 0) == 1
    assert pricing.quota(Price(2, 1, 1), 0, 0) == 0
    assert pricing.quota(Price(0, 1, 1), 1000, 1000) == 0


def test_cached_and_cache_writing_tokens_use_their_own_ratios():
    pricing = Pricing(OPTIONS)
    price = Price(1.5, 4, 1, cache_ratio=0.1, cache_creation_ratio=1.25)
    # prompt 1000 = 600 plain + 300 read from the cache + 100 written to it; 50 produced
    assert pricing.quota(price, 1000, 50, cached_tokens=300, cache_creation_tokens=100) == 1433   # 1.5 × 955 = 1432.5
    # more cached tokens than prompt tokens: capped at the prompt
    assert pricing.quota(price, 100, 0, cached_tokens=500) == reference(price, 100, 0, 500)


def test_matches_exact_fractions_on_random_prices_and_huge_counts():
    pricing, rng = Pricing(OPTIONS), random.Random(7)
    ratios = [0, 0.001, 0.075, 0.1, 0.3, 0.5, 1, 1.25, 2, 3.333, 37.5, 1e-7, 123456.789]
    for _ in range(3000):
        price = Price(rng.choice(ratios), rng.choice(ratios), rng.choice(ratios),
                      cache_ratio=rng.choice(ratios), cache_creation_ratio=rng.choice(ratios))
        counts = [rng.choice([0, 1, 7, 10 ** 6, 10 ** 18]) + rng.randrange(1000) for _ in range(4)]
        assert pricing.quota(price, *counts) == reference(price, *counts), (price, counts)


def test_price_per_call_is_usd_times_quota_per_unit_times_group_ratio():
    pricing = Pricing(OPTIONS)
    assert pricing.call_quota(Price(0, 0, 1, fixed_price=0.02)) == 10_000
    assert pricing.call_quota(Price(0, 0, 1.5, fixed_price=0.000003)) == 2   # 2.25
    assert pricing.call_quota(Price(0, 0, 1, fixed_price=0.000001)) == 1     # 0.5: up
    assert pricing.quota(Price(0, 0, 2, fixed_price=0.1), 10 ** 6, 10 ** 6) == 100_000
