"""Public /api routes, the OpenAPI document kept complete, and deny-by-default on every handler."""
import re

import pytest
from tornado.routing import Rule
from tornado.web import RequestHandler

from conf.settings import VERSION
from handlers import all_routes
from handlers.openapi import document
from tests.api_support import ok

LEVELS = {"public", "key", "user", "admin", "root"}
CATCH_ALLS = (r"/api/.*",)
gen_test = pytest.mark.gen_test(timeout=60)


def route_table():
    """(pattern, handler class) of every registered route, whether a tuple or a Rule."""
    table = []
    for route in all_routes():
        if isinstance(route, Rule):
            table.append((route.matcher.regex.pattern, route.target))
        else:
            table.append((route[0], route[1]))
    return table


@gen_test
async def test_status_reports_system_facts_and_options(gateway):
    options = gateway.services.options
    await options.set("SystemName", "Acme Gate")
    await options.set("TopUpLink", "https://shop.example/buy")
    await options.set("ChatLink", "https://chat.example")
    await options.set("RegisterEnabled", "false")

    data = ok(await gateway.fetch("/api/status"))

    assert data["system_name"] == "Acme Gate" and data["version"] == VERSION
    assert data["top_up_link"] == "https://shop.example/buy" and data["chat_link"] == "https://chat.example"
    assert data["register_enabled"] is False and data["password_login_enabled"] is True
    assert data["quota_per_unit"] == 500000 and data["display_in_currency"] is True
    assert isinstance(data["start_time"], int) and data["start_time"] > 0
    assert "server_address" in data


@gen_test
@pytest.mark.parametrize("path,option", [("/api/notice", "Notice"), ("/api/about", "About"),
                                         ("/api/home_page_content", "HomePageContent")])
async def test_public_texts_come_from_options(gateway, path, option):
    assert ok(await gateway.fetch(path)) == ""
    await gateway.services.options.set(option, f"<b>{option}</b> text")
    assert ok(await gateway.fetch(path)) == f"<b>{option}</b> text"


@gen_test
async def test_openapi_document_is_served_publicly(gateway):
    response = await gateway.fetch("/api/openapi.json")
    assert response.status == 200
    doc = response.json
    assert doc["openapi"].startswith("3.") and doc["info"]["version"] == VERSION
    manage = doc["paths"]["/api/user/manage"]["post"]
    assert manage["x-access"] == "admin" and manage["security"]
    assert doc["paths"]["/api/status"]["get"]["security"] == []


def _sample(path: str) -> str:
    return re.sub(r"{\w+}", "1", path)


def test_every_api_route_and_method_is_in_the_openapi_document():
    table = route_table()
    documented = {}     # route pattern → methods documented for paths that reach it
    for path, methods in document()["paths"].items():
        sample = _sample(path)
        for method in (m.upper() for m in methods):
            # the first route that serves this path with this method (one path may have one route per method)
            reached = next((p for p, h in table if re.fullmatch(p.rstrip("$"), sample)
                            and method in getattr(h, "access", {})), None)
            assert reached is not None, f"{method} {path} is documented but no route serves it"
            documented.setdefault(reached, set()).add(method)
    missing = []
    for pattern, handler in table:
        if not pattern.startswith("/api/") or pattern in CATCH_ALLS:
            continue
        for verb in getattr(handler, "access", {}):
            if verb not in documented.get(pattern, set()):
                missing.append(f"{verb} {pattern}")
    assert not missing, f"routes missing from handlers/openapi_paths.py: {missing}"


def test_every_handler_verb_declares_an_access_level():
    undeclared = []
    for pattern, handler in route_table():
        access = getattr(handler, "access", None)
        assert isinstance(access, dict), f"{handler.__name__} has no access table"
        for verb, level in access.items():
            assert level in LEVELS, f"{handler.__name__}.{verb}: unknown level {level!r}"
        for verb in RequestHandler.SUPPORTED_METHODS:
            method = getattr(handler, verb.lower(), None)
            if method is not getattr(RequestHandler, verb.lower(), None) and verb not in access:
                undeclared.append(f"{handler.__name__}.{verb.lower()} ({pattern})")
    assert not undeclared, f"verbs without an access level (deny by default): {undeclared}"


@gen_test
async def test_a_verb_without_a_level_is_refused(gateway):
    response = await gateway.fetch("/api/status", "DELETE")
    assert response.status == 405 and response.json["success"] is False
