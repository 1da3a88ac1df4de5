"""The Tornado application: every route, in order, catch-alls last."""
import re

import tornado.web

from handlers import (billing_compat, channel, claude_native, log, media, midjourney, misc, openapi, ops, option,
                      overview, pages, pricing, redemption, relay, token, topup, user, user_admin)
from services import metrics
from services.client_address import ClientAddress
from services.log_files import ACCESS

_SECRET_QUERY = re.compile(r"((?:key|token|access_token)=)[^&]+", re.IGNORECASE)


def all_routes():
    routes = []
    for module in (relay, claude_native, media, user, token, channel, log, overview, misc, ops, topup):
        routes += module.routes
    for module in (user_admin, redemption, option, openapi):
        routes += module.routes
    routes += midjourney.routes + billing_compat.routes + pricing.routes
    return routes + pages.routes + relay.fallback_routes + midjourney.fallback_routes + misc.fallback_routes


def log_request(handler):
    """One access-log line per request, with secrets in the query string scrubbed."""
    request, status = handler.request, handler.get_status()
    seconds = request.request_time()
    uri = _SECRET_QUERY.sub(r"\1***", request.uri) if "=" in request.uri else request.uri
    ACCESS.write(status >= 500, f"{status} {request.method} {uri} {request.remote_ip} {1000 * seconds:.1f}ms "
                                f"id={getattr(handler, 'request_id', '-')}")
    metrics.observe_request(type(handler).__name__, request.method, status, seconds)


class TollgateApp(tornado.web.Application):
    client_address: ClientAddress

    def find_handler(self, request, **kwargs):
        # Before any handler sees the request: rate limits, key subnets, logs and links all use the
        # client's address and scheme as a trusted proxy reports them.
        self.client_address.apply(request)
        return super().find_handler(request, **kwargs)


def make_app(services, **tornado_settings) -> tornado.web.Application:
    app = TollgateApp(
        all_routes(),
        services=services,
        log_function=log_request,
        compress_response=False,
        **tornado_settings,
    )
    app.client_address = ClientAddress(services.settings.trusted_proxies)
    return app
