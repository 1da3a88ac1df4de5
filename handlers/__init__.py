"""The Tornado application: every route, in order, catch-alls last."""
import logging
import re

import tornado.web

from handlers import (billing_compat, channel, claude_native, log, media, midjourney, misc, openapi, ops, option,
                      overview, pages, pricing, redemption, relay, token, topup, user, user_admin)
from services import metrics

access_log = logging.getLogger("tollgate.access")
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
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.ERROR
    uri = _SECRET_QUERY.sub(r"\1***", handler.request.uri)
    access_log.log(level, "%d %s %s %s %.1fms id=%s", status, handler.request.method, uri,
                   handler.request.remote_ip, 1000 * handler.request.request_time(),
                   getattr(handler, "request_id", "-"))
    metrics.observe_request(handler)


def make_app(services, **tornado_settings) -> tornado.web.Application:
    return tornado.web.Application(
        all_routes(),
        services=services,
        log_function=log_request,
        compress_response=False,
        **tornado_settings,
    )
