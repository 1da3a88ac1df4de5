"""Public status and the JSON catch-all for unknown /api routes."""
import time

from conf.settings import VERSION
from handlers.base import ApiError, ApiHandler

STARTED = int(time.time())


class StatusHandler(ApiHandler):
    access = {"GET": "public"}

    def get(self):
        options = self.services.options
        self.ok({
            "version": VERSION,
            "start_time": STARTED,
            "system_name": options["SystemName"],
            "server_address": options["ServerAddress"],
            "quota_per_unit": options["QuotaPerUnit"],
            "display_in_currency": options["DisplayInCurrencyEnabled"],
            "register_enabled": options["RegisterEnabled"],
            "password_login_enabled": options["PasswordLoginEnabled"],
            "password_register_enabled": options["PasswordRegisterEnabled"],
        })


class ApiNotFound(ApiHandler):
    access = {verb: "public" for verb in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def prepare(self):
        raise ApiError(404, f"no such API route: {self.request.method} {self.request.path}")


routes = [(r"/api/status", StatusHandler)]

fallback_routes = [(r"/api/.*", ApiNotFound)]
