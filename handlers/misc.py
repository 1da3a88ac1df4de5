"""Public status, notice, about and home page content, and the JSON catch-all for unknown /api routes."""
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
            "logo": options["Logo"],
            "footer_html": options["Footer"],
            "top_up_link": options["TopUpLink"],
            "chat_link": options["ChatLink"],
            # Sign-in methods One API dashboards ask about; Tollgate offers password sign-in only.
            "email_verification": False,
            "github_oauth": False,
            "wechat_login": False,
            "turnstile_check": False,
        })


class OptionTextHandler(ApiHandler):
    """One text option, as its own public route (the dashboards show them)."""

    access = {"GET": "public"}

    def initialize(self, option):
        super().initialize()
        self.option = option

    def get(self):
        self.ok(self.services.options[self.option])


class ApiNotFound(ApiHandler):
    access = {verb: "public" for verb in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def prepare(self):
        raise ApiError(404, f"no such API route: {self.request.method} {self.request.path}")


routes = [
    (r"/api/status", StatusHandler),
    (r"/api/notice", OptionTextHandler, {"option": "Notice"}),
    (r"/api/about", OptionTextHandler, {"option": "About"}),
    (r"/api/home_page_content", OptionTextHandler, {"option": "HomePageContent"}),
]

fallback_routes = [(r"/api/.*", ApiNotFound)]
