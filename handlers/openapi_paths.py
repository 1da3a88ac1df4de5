"""The management API, one entry per path and method, for /api/openapi.json (handlers/openapi.py).

Each operation: summary, access level (public, user, admin, root), query parameter names, request
body schema and the schema of the envelope's `data`. Add a line here with every new /api route.
"""
from handlers.openapi_schemas import array, obj, page_of, ref

PAGED = ("p", "page_size")
LOG_FILTERS = PAGED + ("type", "username", "token_name", "model_name", "channel", "group", "user_id",
                       "start_timestamp", "end_timestamp", "keyword")
MJ_FILTERS = PAGED + ("status", "action", "mj_id", "task_id", "start_timestamp", "end_timestamp", "channel_id",
                      "user_id")


def op(summary, access, query=(), body=None, data=None) -> dict:
    return {"summary": summary, "access": access, "query": query, "body": body, "data": data}


LOGIN = obj(["username", "password"], username="string", password="string")
SESSION_USER = obj(id="integer", username="string", display_name="string", role="integer", status="integer",
                   group="string")
TOKEN_INPUT = obj(id="integer", name="string", remain_quota="integer", unlimited_quota="boolean",
                  expired_time="integer", models="string", subnet="string", group="string",
                  billing_mode="string", status="integer")
CHANNEL_INPUT = obj(id="integer", type="integer", name="string", key="string", base_url="string",
                    models="string", group="string", model_mapping="string", priority="integer",
                    weight="integer", status="integer")
REDEMPTION_INPUT = obj(id="integer", name="string", quota="integer", count="integer", status="integer")
DAY_ROW = obj(day="string", model_name="string", request_count="integer", quota="integer",
              prompt_tokens="integer", completion_tokens="integer", tokens="integer")

PATHS = {
    # Public ---------------------------------------------------------------------------------------
    "/api/status": {"GET": op("System status: name, version, start time, quota per unit, registration flags, "
                              "links", "public", data=obj())},
    "/api/notice": {"GET": op("The notice (option Notice)", "public", data={"type": "string"})},
    "/api/about": {"GET": op("The about text (option About)", "public", data={"type": "string"})},
    "/api/home_page_content": {"GET": op("The home page content (option HomePageContent)", "public",
                                         data={"type": "string"})},
    "/api/openapi.json": {"GET": op("This document (not wrapped in the envelope)", "public")},
    # The caller's own account -----------------------------------------------------------------------
    "/api/user/register": {"POST": op("Register; aff_code (optional) is an inviter's invite code", "public",
                                      body=obj(["username", "password"], username="string", password="string",
                                               display_name="string", aff_code="string"),
                                      data=obj(id="integer", username="string"))},
    "/api/user/login": {"POST": op("Log in; sets the session cookie", "public", body=LOGIN, data=SESSION_USER)},
    "/api/user/logout": {"GET": op("Log out", "public"), "POST": op("Log out", "public")},
    "/api/user/self": {
        "GET": op("Your account", "user", data=ref("User")),
        "PUT": op("Change your display name, or your password (original_password required)", "user",
                  body=obj(display_name="string", password="string", original_password="string"),
                  data=ref("User")),
        "DELETE": op("Delete your account (not root)", "user"),
    },
    "/api/user/token": {"GET": op("A new access token for Authorization on /api; the old one stops working",
                                  "user", data={"type": "string"})},
    "/api/user/aff": {"GET": op("Your invite code", "user", data={"type": "string"})},
    "/api/user/topup": {"POST": op("Redeem a redemption code; data is the quota added", "user",
                                   body=obj(["key"], key="string"), data={"type": "integer"})},
    "/api/user/models": {"GET": op("Models your group may use", "user", data=array("string"))},
    "/api/user/available_models": {"GET": op("Models your group may use", "user", data=array("string"))},
    "/api/user/self/groups": {"GET": op("Groups you may choose for a token, with description and ratio",
                                        "user", data=obj())},
    "/api/user/dashboard": {"GET": op("Your consumption per day and model (days: 1 to 30, default 7; days in "
                                      "UTC, or shifted by utc_offset minutes east of UTC)", "user",
                                      query=("days", "utc_offset"), data=array(DAY_ROW))},
    # Users (administrators) ---------------------------------------------------------------------------
    "/api/user/": {
        "GET": op("List users (order: quota, used_quota, request_count)", "admin",
                  query=PAGED + ("keyword", "order"), data=page_of(ref("User"))),
        "POST": op("Create a user", "admin", body=ref("UserInput"), data=ref("User")),
        "PUT": op("Edit a user (username, display_name, password, group, email, quota)", "admin",
                  body=ref("UserInput"), data=ref("User")),
    },
    "/api/user/search": {"GET": op("Search users by id, name or e-mail", "admin",
                                   query=PAGED + ("keyword", "order"), data=page_of(ref("User")))},
    "/api/user/{id}": {"GET": op("One user", "admin", data=ref("User")),
                       "DELETE": op("Delete a user", "admin")},
    "/api/user/manage": {"POST": op("disable, enable, delete, promote or demote a user (promote/demote: root)",
                                    "admin", body=obj(["action"], id="integer", username="string",
                                                      action={"type": "string", "enum": ["disable", "enable",
                                                              "delete", "promote", "demote"]}),
                                    data=obj(role="integer", status="integer"))},
    "/api/user/quota": {"POST": op("Credit (delta > 0) or debit (delta < 0) a balance; writes a manage log",
                                   "admin", body=obj(["id", "delta"], id="integer", delta="integer",
                                                     remark="string"),
                                   data=obj(id="integer", quota="integer"))},
    # Tokens ------------------------------------------------------------------------------------------
    "/api/token/": {
        "GET": op("Your tokens", "user", query=PAGED + ("keyword",), data=page_of(ref("Token"))),
        "POST": op("Create a token; data.key is the full key, shown this once", "user", body=TOKEN_INPUT,
                   data=ref("Token")),
        "PUT": op("Edit a token", "user", query=("status_only",), body=TOKEN_INPUT, data=ref("Token")),
    },
    "/api/token/search": {
        "GET": op("Search your tokens by name", "user", query=PAGED + ("keyword",), data=page_of(ref("Token"))),
        "POST": op("Same as POST /api/token/", "user", body=TOKEN_INPUT, data=ref("Token")),
        "PUT": op("Same as PUT /api/token/", "user", query=("status_only",), body=TOKEN_INPUT, data=ref("Token")),
    },
    "/api/token/{id}": {"GET": op("One of your tokens", "user", data=ref("Token")),
                        "DELETE": op("Delete one of your tokens", "user")},
    "/api/token/{id}/key": {"GET": op("The full key of one of your tokens", "user", data=obj(key="string")),
                            "POST": op("The full key of one of your tokens", "user", data=obj(key="string"))},
    # Channels ----------------------------------------------------------------------------------------
    "/api/channel/": {
        "GET": op("List channels (keys shown to root only)", "admin", query=PAGED + ("keyword",),
                  data=page_of(ref("Channel"))),
        "POST": op("Create channels: one per line of key", "admin", body=CHANNEL_INPUT, data=array(ref("Channel"))),
        "PUT": op("Edit a channel", "admin", body=CHANNEL_INPUT, data=ref("Channel")),
    },
    "/api/channel/search": {
        "GET": op("Search channels", "admin", query=PAGED + ("keyword",), data=page_of(ref("Channel"))),
        "POST": op("Same as POST /api/channel/", "admin", body=CHANNEL_INPUT, data=array(ref("Channel"))),
        "PUT": op("Same as PUT /api/channel/", "admin", body=CHANNEL_INPUT, data=ref("Channel")),
    },
    "/api/channel/{id}": {"GET": op("One channel", "admin", data=ref("Channel")),
                          "DELETE": op("Delete a channel", "admin")},
    # Logs, dashboards, Midjourney tasks ---------------------------------------------------------------
    "/api/log/": {"GET": op("All logs, filtered", "admin", query=LOG_FILTERS, data=page_of(ref("Log")))},
    "/api/log/self": {"GET": op("Your logs, filtered", "user", query=LOG_FILTERS, data=page_of(ref("Log")))},
    "/api/dashboard/overview": {"GET": op("Traffic today and this week, top models and users, channel health "
                                          "(days in UTC, or shifted by utc_offset minutes east of UTC)",
                                          "admin", query=("utc_offset",), data=obj())},
    "/api/mj/": {"GET": op("All Midjourney tasks", "admin", query=MJ_FILTERS, data=page_of(ref("MjTask")))},
    "/api/mj/self": {"GET": op("Your Midjourney tasks", "user", query=MJ_FILTERS, data=page_of(ref("MjTask")))},
    # Redemption codes ------------------------------------------------------------------------------
    "/api/redemption/": {
        "GET": op("List redemption codes", "admin", query=PAGED + ("keyword",), data=page_of(ref("Redemption"))),
        "POST": op("Make count (1 to 100) codes; data is their keys", "admin", body=REDEMPTION_INPUT,
                   data=array("string")),
        "PUT": op("Edit a code (name, quota, status); not once used", "admin", query=("status_only",),
                  body=REDEMPTION_INPUT, data=ref("Redemption")),
    },
    "/api/redemption/search": {"GET": op("Search codes by id, name or key", "admin", query=PAGED + ("keyword",),
                                         data=page_of(ref("Redemption")))},
    "/api/redemption/invalid": {"DELETE": op("Delete every used or disabled code; data is how many", "admin",
                                             data={"type": "integer"})},
    "/api/redemption/{id}": {"GET": op("One code", "admin", data=ref("Redemption")),
                             "DELETE": op("Delete a code", "admin")},
    # Options ---------------------------------------------------------------------------------------
    "/api/option/": {
        "GET": op("Every option (never those ending in Token, Secret or Key)", "root", data=array(ref("Option"))),
        "PUT": op("Set one option; a value that does not parse is refused and the old one kept", "root",
                  body=obj(["key", "value"], key="string", value={})),
    },
}

ORDER = obj(trade_no="string", user_id="integer", amount="integer", money="string", payment_method="string",
            status="string", create_time="integer", complete_time="integer")
TEST_RESULT = obj(success="boolean", message="string", time="number", model="string")
STATS = obj(quota="integer", rpm="integer", tpm="integer")
EXPORT = ("format",) + LOG_FILTERS

PATHS.update({
    # Tokens and channels, beyond the basics ----------------------------------------------------------
    "/api/token/all": {"GET": op("Every user's tokens, without keys", "admin", query=PAGED + ("keyword", "user_id"),
                                 data=page_of(ref("Token")))},
    "/api/token/batch": {"POST": op("Delete several of your tokens", "user", body=obj(ids="array"),
                                    data={"type": "integer"})},
    "/api/token/batch/create": {"POST": op("Make count tokens from one template; their keys are returned once",
                                           "user", body=TOKEN_INPUT, data=array(ref("Token")))},
    "/api/channel/models": {"GET": op("Every model known from prices and channels", "admin",
                                      data=array("string"))},
    "/api/channel/disabled": {"DELETE": op("Delete every disabled channel; data is how many", "admin",
                                           data={"type": "integer"})},
    "/api/channel/batch": {"POST": op("Delete several channels", "admin", body=obj(ids="array"),
                                      data={"type": "integer"})},
    "/api/channel/test": {"GET": op("Test every channel in a scope (all, enabled, disabled)", "admin",
                                    query=("scope",), data=array(TEST_RESULT))},
    "/api/channel/test/{id}": {"GET": op("Test one channel with a real upstream call", "admin", query=("model",),
                                         data=TEST_RESULT)},
    "/api/channel/update_balance": {"GET": op("Refresh the balance of every OpenAI-type channel", "admin",
                                              data=array(obj()))},
    "/api/channel/update_balance/{id}": {"GET": op("Refresh one channel's balance", "admin",
                                                   data={"type": "number"})},
    # Logs, beyond the lists ----------------------------------------------------------------------------
    "/api/log/": {"GET": PATHS["/api/log/"]["GET"],
                  "DELETE": op("Delete logs older than target_timestamp; data is how many", "admin",
                               query=("target_timestamp",), data={"type": "integer"})},
    "/api/log/search": {"GET": op("Search all logs", "admin", query=LOG_FILTERS, data=page_of(ref("Log")))},
    "/api/log/stat": {"GET": op("Quota of a selection, and rpm/tpm over the last minute", "admin",
                                query=LOG_FILTERS, data=STATS)},
    "/api/log/export": {"GET": op("A selection as CSV or JSON Lines, streamed (not in the envelope)", "admin",
                                  query=EXPORT)},
    "/api/log/self/search": {"GET": op("Search your logs", "user", query=LOG_FILTERS, data=page_of(ref("Log")))},
    "/api/log/self/stat": {"GET": op("Quota of a selection of your logs, and your rpm/tpm", "user",
                                     query=LOG_FILTERS, data=STATS)},
    "/api/log/self/export": {"GET": op("Your logs as CSV or JSON Lines, streamed (not in the envelope)", "user",
                                       query=EXPORT)},
    "/api/log/token": {"GET": op("The logs of one key, given as ?key=sk-... (no login; CORS)", "public",
                                 query=PAGED + ("key",), data=page_of(ref("Log"))),
                       "OPTIONS": op("CORS preflight", "public")},
    # Operations -------------------------------------------------------------------------------------
    "/api/health": {"GET": op("MongoDB and Redis reachable: 200, else 503 with details", "public", data=obj())},
    # Online top-up ------------------------------------------------------------------------------------
    "/api/user/amount": {"POST": op("The money an amount of top-up costs", "user", body=obj(amount="integer"),
                                    data={"type": "string"})},
    "/api/user/pay": {"GET": op("Whether online top-up is on: methods, minimum, your price", "user", data=obj()),
                      "POST": op("Create a pending order; data is the signed form for the payment site", "user",
                                 body=obj(amount="integer", payment_method="string"), data=obj())},
    "/api/user/epay/notify": {"GET": op("Payment notice from epay (MD5-signed; answers success or fail)",
                                        "public"),
                              "POST": op("Payment notice from epay as a form", "public")},
    "/api/user/topup/self": {"GET": op("Your top-up orders", "user", query=PAGED, data=page_of(ORDER))},
    "/api/user/topup/complete": {"POST": op("Mark a pending order paid by hand (logged)", "admin",
                                            body=obj(trade_no="string"))},
    "/api/user/topup/{trade_no}": {"GET": op("One order's state, for its owner or an administrator", "user",
                                             data=ORDER)},
})
PATHS["/api/user/topup"]["GET"] = op("Every top-up order, filtered", "admin",
                                     query=PAGED + ("status", "user_id", "trade_no", "start_timestamp",
                                                    "end_timestamp"), data=page_of(ORDER))
PATHS["/api/pricing"] = {"GET": op("Prices of the models your group may use: model and completion ratio "
                                   "(before the group ratio) or the fixed USD price per call", "user",
                                   data=obj(group="string", group_ratio="number", quota_per_unit="integer",
                                            items=array(obj(model_name="string", model_ratio="number",
                                                            completion_ratio="number",
                                                            model_price="number"))))}
