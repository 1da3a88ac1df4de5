"""/api/openapi.json: an OpenAPI 3 description of the management API.

The paths are a table (handlers/openapi_paths.py) of one operation per route and method; a test walks
the registered routes and fails when an /api route or one of its methods is missing from it.
"""
import re

from conf.settings import VERSION
from handlers.base import ApiHandler
from handlers.openapi_paths import PATHS
from handlers.openapi_schemas import SCHEMAS, envelope, ref
from models.users import ROLE_ADMIN, ROLE_ROOT, ROLE_USER

ROLES = {"user": ROLE_USER, "admin": ROLE_ADMIN, "root": ROLE_ROOT}
PAGING = ("p", "page_size")
QUERY_TYPES = {"p": "integer", "page_size": "integer", "days": "integer", "type": "integer", "channel": "integer",
               "user_id": "integer", "start_timestamp": "integer", "end_timestamp": "integer"}
QUERY_HELP = {
    "p": "page number, from 1", "page_size": "items per page, 1 to 100 (default 20)",
    "keyword": "text to search for", "status_only": "true: change only the status",
}


def _parameters(path: str, query) -> list:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
              for name in re.findall(r"{(\w+)}", path)]
    for name in query:
        params.append({"name": name, "in": "query", "required": False,
                       "schema": {"type": QUERY_TYPES.get(name, "string")},
                       **({"description": QUERY_HELP[name]} if name in QUERY_HELP else {})})
    return params


def operation(path: str, method: str, spec: dict) -> dict:
    level = spec["access"]
    op = {
        "summary": spec["summary"],
        "tags": [path.split("/")[2]],
        "x-access": level,
        "parameters": _parameters(path, spec.get("query", ())),
        "responses": {
            "200": {"description": "success", "content": {"application/json": {"schema": envelope(spec.get("data"))}}},
            "default": {"description": "failure: 400, 401, 403, 404, 409 or 429",
                        "content": {"application/json": {"schema": ref("Error")}}},
        },
    }
    if level in ROLES:
        op["security"] = [{"session": []}, {"accessToken": []}]
        op["description"] = f"Needs role {ROLES[level]} ({level}) or higher."
    else:
        op["security"] = []
    if spec.get("body") is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec["body"]}}}
    return op


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Tollgate management API", "version": VERSION,
                 "description": "One API / New API compatible. Every answer is {success, message, data}; "
                                "failures carry a real HTTP status. Lists are paged with p (from 1) and "
                                "page_size and answer {items, total, page, page_size}."},
        "paths": {path: {method.lower(): operation(path, method, spec) for method, spec in methods.items()}
                  for path, methods in PATHS.items()},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "accessToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                                "description": "the access token from GET /api/user/token, raw or 'Bearer ...'"},
            },
        },
    }


class OpenApiHandler(ApiHandler):
    access = {"GET": "public"}

    def get(self):
        self.write_json(document())


routes = [(r"/api/openapi\.json", OpenApiHandler)]
