"""/api/pricing: the prices of the models the caller's group may use, for the dashboard's price list."""
from handlers.base import ApiHandler


class PricingHandler(ApiHandler):
    access = {"GET": "user"}

    def get(self):
        services, group = self.services, self.current.group
        models = services.routing.models_for(group)
        self.ok({"group": group, "group_ratio": services.pricing.group_ratio(group),
                 "quota_per_unit": services.options["QuotaPerUnit"],
                 "items": services.pricing.listing(models, group)})


routes = [(r"/api/pricing", PricingHandler)]
