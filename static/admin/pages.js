// The admin dashboard's pages (operators: role 10 and up). Each talks only to /api.
"use strict";

const { api, act, h, table, form, dialog, date, money, copy, barChart } = UI;

const CHANNEL_STATUS = { 1: ["enabled", "ok"], 2: ["disabled", "bad"], 3: ["auto-disabled", "warn"] };
const USER_STATUS = { 1: ["enabled", "ok"], 2: ["disabled", "bad"] };
const ROLES = { 1: "user", 10: "admin", 100: "root" };
const CODE_STATUS = { 1: ["unused", "ok"], 2: ["disabled", "bad"], 3: ["used", ""] };
const LOG_TYPES = { 1: ["top-up", "ok"], 2: ["consume", ""], 3: ["manage", "warn"], 4: ["system", ""], 5: ["error", "bad"], 6: ["refund", "ok"] };
const CHANNEL_TYPES = [[1, "OpenAI"], [8, "Custom (OpenAI-compatible)"], [3, "Azure OpenAI"], [14, "Anthropic Claude"], [24, "Google Gemini"], [2, "Midjourney-Proxy"], [5, "Midjourney-Proxy-Plus"]];
const badge = (code, names) => { const [label, kind] = names[code] || [String(code), ""]; return h("span", { class: `badge ${kind}` }, label); };

const Admin = {};

// ---- Overview -----------------------------------------------------------------------------------
Admin.overview = async () => {
  const data = await api("GET", `/api/dashboard/overview?utc_offset=${-new Date().getTimezoneOffset()}`);
  const section = h("section", {}, h("h1", {}, "Overview"),
    h("div", { class: "cards" },
      stat("Requests today", data.today.requests), stat("Spent today", money(data.today.quota)),
      stat("Tokens today", data.today.tokens), stat("Requests this week", data.week.requests),
      stat("Spent this week", money(data.week.quota)),
      stat("Channels enabled", `${data.channels.enabled} / ${data.channels.total}`)));
  const labels = data.days.map((d) => d.day.slice(5));
  section.append(barChart(labels, { spent: data.days.map((d) => d.quota) }, "Spent per day (last 7 days)", money));
  section.append(h("div", { class: "cards" },
    listCard("Top models this week", data.top_models.map((m) => [m.model_name, money(m.quota)])),
    listCard("Top users this week", data.top_users.map((u) => [u.username, money(u.quota)])),
    listCard("Channels needing attention", data.channels.unhealthy.map((c) => [`#${c.id} ${c.name}`, c.status_reason || "disabled"]))));
  return section;
};

function stat(title, value) {
  return h("div", { class: "card" }, h("div", { class: "muted" }, title), h("div", { class: "value" }, value));
}

function listCard(title, rows) {
  return h("div", { class: "panel" }, h("h2", {}, title), rows.length
    ? h("table", {}, h("tbody", {}, rows.map(([a, b]) => h("tr", {}, h("td", {}, a), h("td", {}, b)))))
    : h("p", { class: "muted" }, "None."));
}

// ---- Channels -----------------------------------------------------------------------------------
const CHANNEL_FIELDS = (c = {}) => [
  { name: "name", label: "Name", value: c.name || "" },
  { name: "type", label: "Type", type: "select", value: c.type || 1, options: CHANNEL_TYPES },
  { name: "base_url", label: "Base URL (empty: the provider's)", value: c.base_url || "" },
  { name: "key", label: c.id ? "Key (empty: keep the current one)" : "Key (one per line: one channel each)", type: "textarea", rows: 3, value: "" },
  { name: "models", label: "Models (comma-separated)", value: c.models || "" },
  { name: "group", label: "Groups (comma-separated)", value: c.group || "default" },
  { name: "model_mapping", label: "Model mapping (JSON: requested → upstream)", type: "textarea", rows: 3, value: c.model_mapping || "" },
  { name: "priority", label: "Priority (higher first)", type: "number", value: c.priority ?? 0 },
  { name: "weight", label: "Weight (within a priority)", type: "number", value: c.weight ?? 0 },
  { name: "test_model", label: "Test model", value: c.test_model || "" },
  { name: "openai_organization", label: "OpenAI organization", value: c.openai_organization || "" },
  { name: "auto_ban", label: "May be disabled automatically", type: "checkbox", value: c.auto_ban ?? 1 },
  { name: "auto_enable_interval", label: "Re-test an auto-disabled channel every N seconds (0: never)", type: "number", value: c.auto_enable_interval ?? 0 },
  { name: "config", label: "Config (JSON object, e.g. {\"api_version\": \"2024-06-01\"} for Azure)", type: "textarea", rows: 2, value: c.config && Object.keys(c.config).length ? JSON.stringify(c.config) : "" },
];

// What a channel test found, shown where the button was pressed and as a message.
async function testChannel(channel, reload) {
  try {
    const r = await api("GET", `/api/channel/test/${channel.id}`);
    UI.toast(`${channel.name}: test passed in ${r.time} s with ${r.model}`, "ok");
  } catch (err) {
    UI.toast(`${channel.name}: test failed — ${err.message}`, "error");
  }
  reload();
}

async function testAll(reload) {
  const results = await act(api("GET", "/api/channel/test"));
  const failed = results.filter((r) => !r.success);
  UI.toast(`${results.length - failed.length} of ${results.length} channels passed`, failed.length ? "error" : "ok");
  for (const r of failed) UI.toast(`${r.name}: ${r.message}`, "error");
  reload();
}

Admin.channels = async () => {
  const list = table({
    path: "/api/channel/", key: "channels", filters: [{ name: "keyword", label: "Name, URL or id" }, { name: "group", label: "Group" }, { name: "model", label: "Model" },
      { name: "status", label: "Any status", options: Object.entries(CHANNEL_STATUS).map(([v, [label]]) => [v, label]) }],
    toolbar: [
      h("button", { type: "button", onclick: () => editChannel(null, list.reload) }, "New channel"),
      h("button", { type: "button", class: "ghost", onclick: () => testAll(list.reload) }, "Test all"),
      h("button", { type: "button", class: "ghost", onclick: () => act(api("GET", "/api/channel/update_balance"), "Balances updated").then(list.reload) }, "Update balances"),
      h("button", { type: "button", class: "danger", onclick: () => confirm("Delete every disabled channel?") && act(api("DELETE", "/api/channel/disabled"), "Deleted").then(list.reload) }, "Delete disabled"),
    ],
    columns: [
      { title: "ID", render: (c) => c.id },
      { title: "Name", render: (c) => c.name },
      { title: "Type", render: (c) => (CHANNEL_TYPES.find(([t]) => t === c.type) || [0, c.type])[1] },
      { title: "Status", render: (c) => h("span", {}, badge(c.status, CHANNEL_STATUS), c.status_reason ? h("div", { class: "muted" }, c.status_reason) : null) },
      { title: "Models", render: (c) => h("span", { class: "mono" }, c.models) },
      { title: "Group", render: (c) => c.group },
      { title: "Priority / weight", render: (c) => `${c.priority} / ${c.weight}` },
      { title: "Response", render: (c) => (c.test_time ? h("span", { title: `tested ${date(c.test_time)}` }, `${c.response_time} ms`) : "—") },
      { title: "Balance", render: (c) => (c.balance_updated_time ? `$${Number(c.balance).toFixed(2)}` : "—") },
      { title: "Used", render: (c) => money(c.used_quota) },
    ],
    actions: (c, reload) => [
      h("button", { onclick: () => testChannel(c, reload) }, "Test"),
      h("button", { class: "ghost", onclick: () => act(api("GET", `/api/channel/update_balance/${c.id}`), "Balance updated").then(reload) }, "Balance"),
      h("button", { class: "ghost", onclick: () => act(api("PUT", "/api/channel/", { id: c.id, status: c.status === 1 ? 2 : 1 }), "Saved").then(reload) }, c.status === 1 ? "Disable" : "Enable"),
      h("button", { class: "ghost", onclick: () => editChannel(c, reload) }, "Edit"),
      h("button", { class: "danger", onclick: () => confirm(`Delete channel ${c.name}?`) && act(api("DELETE", `/api/channel/${c.id}`), "Deleted").then(reload) }, "Delete"),
    ],
  });
  return h("section", {}, h("h1", {}, "Channels"), list.element);
};

function editChannel(channel, reload) {
  const box = dialog(channel ? `Edit channel ${channel.name}` : "New channel", form(CHANNEL_FIELDS(channel || {}), channel ? "Save" : "Create", async (v) => {
    if (v.model_mapping) {
      try { JSON.parse(v.model_mapping); } catch (err) { UI.toast("Model mapping is not valid JSON", "error"); throw err; }
    }
    try { v.config = v.config.trim() ? JSON.parse(v.config) : {}; } catch (err) { UI.toast("Config is not valid JSON", "error"); throw err; }
    v.auto_ban = v.auto_ban ? 1 : 0;
    if (channel) await act(api("PUT", "/api/channel/", { ...v, id: channel.id }), "Saved");
    else await act(api("POST", "/api/channel/", v), "Channel created");
    box.close();
    reload();
  }));
}

// ---- Users --------------------------------------------------------------------------------------
Admin.users = async () => {
  const list = table({
    path: "/api/user/", key: "users", filters: [{ name: "keyword", label: "Name, e-mail or id" }],
    toolbar: [h("button", { type: "button", onclick: () => newUser(list.reload) }, "New user")],
    columns: [
      { title: "ID", render: (u) => u.id }, { title: "Username", render: (u) => u.username },
      { title: "Name", render: (u) => u.display_name }, { title: "Role", render: (u) => ROLES[u.role] || u.role },
      { title: "Status", render: (u) => badge(u.status, USER_STATUS) }, { title: "Group", render: (u) => u.group },
      { title: "Balance", render: (u) => money(u.quota) }, { title: "Used", render: (u) => money(u.used_quota) },
      { title: "Requests", render: (u) => u.request_count },
    ],
    actions: (u, reload) => [
      h("button", { onclick: () => adjustQuota(u, reload) }, "Credit / debit"),
      h("button", { class: "ghost", onclick: () => editUser(u, reload) }, "Edit"),
      manage(u, u.status === 1 ? "disable" : "enable", reload),
      u.role < 10 ? manage(u, "promote", reload) : u.role < 100 ? manage(u, "demote", reload) : null,
      u.role < 100 ? h("button", { class: "danger", onclick: () => confirm(`Delete user ${u.username} and their API keys?`) && act(api("POST", "/api/user/manage", { id: u.id, username: u.username, action: "delete" }), "Deleted").then(reload) }, "Delete") : null,
    ],
  });
  return h("section", {}, h("h1", {}, "Users"), list.element);
};

function manage(user, action, reload) {
  return h("button", { class: "ghost", onclick: () => act(api("POST", "/api/user/manage", { id: user.id, username: user.username, action }), "Done").then(reload) },
    action[0].toUpperCase() + action.slice(1));
}

function adjustQuota(user, reload) {
  const box = dialog(`Credit or debit ${user.username}`, form([
    { name: "delta", label: "Quota to add (negative to take)", type: "number", value: 0, help: UI.quotaHelp() },
    { name: "remark", label: "Remark (kept in the log)" }], "Apply", async (v) => {
    await act(api("POST", "/api/user/quota", { id: user.id, delta: v.delta, remark: v.remark }), "Balance changed");
    box.close();
    reload();
  }));
}

function editUser(user, reload) {
  const box = dialog(`Edit ${user.username}`, form([
    { name: "display_name", label: "Display name", value: user.display_name },
    { name: "group", label: "Group", value: user.group },
    { name: "password", label: "New password (empty: keep)", type: "password" }], "Save", async (v) => {
    if (!v.password) delete v.password;
    await act(api("PUT", "/api/user/", { ...v, id: user.id }), "Saved");
    box.close();
    reload();
  }));
}

function newUser(reload) {
  const box = dialog("New user", form([
    { name: "username", label: "Username" }, { name: "password", label: "Password", type: "password" },
    { name: "display_name", label: "Display name" }], "Create", async (v) => {
    await act(api("POST", "/api/user/", v), "User created");
    box.close();
    reload();
  }));
}

// ---- Keys, codes, logs, Midjourney, orders --------------------------------------------------------
Admin.tokens = async () => h("section", {}, h("h1", {}, "All API keys"), table({ path: "/api/token/all", key: "all-tokens",
  filters: [{ name: "keyword", label: "Name" }, { name: "user_id", label: "User id", type: "number" }],
  columns: [
    { title: "ID", render: (t) => t.id }, { title: "User id", render: (t) => t.user_id }, { title: "Name", render: (t) => t.name },
    { title: "Status", render: (t) => badge(t.status, { 1: ["enabled", "ok"], 2: ["disabled", "bad"], 3: ["expired", "warn"], 4: ["exhausted", "warn"] }) },
    { title: "Quota left", render: (t) => (t.unlimited_quota ? "unlimited" : money(t.remain_quota)) }, { title: "Used", render: (t) => money(t.used_quota) },
    { title: "Models", render: (t) => t.models || "all" }, { title: "Last used", render: (t) => date(t.accessed_time) },
    { title: "Expires", render: (t) => (t.expired_time === -1 ? "never" : date(t.expired_time)) },
  ] }).element);

Admin.redemptions = async () => {
  const list = table({
    path: "/api/redemption/", key: "codes", filters: [{ name: "keyword", label: "Name" }],
    toolbar: [
      h("button", { type: "button", onclick: () => newCodes(list.reload) }, "New codes"),
      h("button", { type: "button", class: "danger", onclick: () => confirm("Delete every used or disabled code?") && act(api("DELETE", "/api/redemption/invalid"), "Deleted").then(list.reload) }, "Delete used"),
    ],
    columns: [
      { title: "ID", render: (r) => r.id }, { title: "Name", render: (r) => r.name }, { title: "Status", render: (r) => badge(r.status, CODE_STATUS) },
      { title: "Quota", render: (r) => money(r.quota) }, { title: "Created", render: (r) => date(r.created_time) },
      { title: "Redeemed", render: (r) => date(r.redeemed_time) },
    ],
    actions: (r, reload) => [
      h("button", { class: "ghost", onclick: () => copy(r.key, "Code") }, "Copy"),
      r.status !== 3 ? h("button", { class: "ghost", onclick: () => act(api("PUT", "/api/redemption/", { id: r.id, status: r.status === 1 ? 2 : 1 }), "Saved").then(reload) }, r.status === 1 ? "Disable" : "Enable") : null,
      h("button", { class: "danger", onclick: () => act(api("DELETE", `/api/redemption/${r.id}`), "Deleted").then(reload) }, "Delete"),
    ],
  });
  return h("section", {}, h("h1", {}, "Redemption codes"), list.element);
};

function newCodes(reload) {
  const box = dialog("New redemption codes", form([
    { name: "name", label: "Name" }, { name: "quota", label: "Quota per code", type: "number", value: 500000, help: UI.quotaHelp() },
    { name: "count", label: "How many (1–100)", type: "number", value: 10 }], "Create", async (v) => {
    const keys = await act(api("POST", "/api/redemption/", v), "Codes created");
    box.close();
    dialog("New codes", h("div", {}, h("textarea", { rows: 8, readonly: true, id: "new-codes" }, keys.join("\n")),
      h("button", { onclick: () => copy(keys.join("\n"), "Codes") }, "Copy all")));
    reload();
  }));
}

Admin.logs = async () => {
  const totals = h("span", { class: "muted", id: "log-totals" });
  const list = table({ path: "/api/log/", key: "admin-logs",
    filters: [{ name: "username", label: "User" }, { name: "token_name", label: "Key name" }, { name: "model_name", label: "Model" },
      { name: "channel", label: "Channel id", type: "number" }, { name: "type", label: "Any type", options: Object.entries(LOG_TYPES).map(([v, [label]]) => [v, label]) },
      { name: "start_timestamp", label: "From", type: "datetime-local" }, { name: "end_timestamp", label: "To", type: "datetime-local" }],
    columns: [
      { title: "Time", render: (l) => date(l.created_at) }, { title: "User", render: (l) => l.username },
      { title: "Type", render: (l) => badge(l.type, LOG_TYPES) }, { title: "Key", render: (l) => l.token_name || "" },
      { title: "Model", render: (l) => l.model_name || "" }, { title: "Channel", render: (l) => l.channel || "" },
      { title: "Tokens", render: (l) => `${l.prompt_tokens ?? 0} + ${l.completion_tokens ?? 0}` },
      { title: "Cost", render: (l) => money(l.quota || 0) }, { title: "Detail", render: (l) => h("span", { class: "muted" }, l.content || "") },
    ],
    onload: async () => {
      try {
        const s = await api("GET", `/api/log/stat?${list.query()}`);
        totals.textContent = `Selection: ${money(s.quota || 0)} · ${s.rpm ?? 0} rpm · ${s.tpm ?? 0} tpm`;
      } catch (err) { totals.textContent = ""; }
    } });
  // The filters are checked through the stat route (same rules) so a bad one shows the server's message.
  const exportLink = (format) => h("button", { type: "button", class: "ghost", onclick: async () => {
    const q = list.query();
    q.delete("p");
    q.delete("page_size");
    await act(api("GET", `/api/log/stat?${q}`));
    q.set("format", format);
    location.href = `/api/log/export?${q}`;
  } }, `Export ${format.toUpperCase()}`);
  const purge = h("button", { type: "button", class: "danger", onclick: () => {
    const days = Number(prompt("Delete logs older than how many days?", "90"));
    if (!days) return;
    const before = Math.floor(Date.now() / 1000) - days * 86400;
    act(api("DELETE", `/api/log/?target_timestamp=${before}`)).then((n) => { UI.toast(`${n} log entries deleted`, "ok"); list.reload(); });
  } }, "Delete old");
  list.element.querySelector(".filters").append(exportLink("csv"), exportLink("jsonl"), purge);
  return h("section", {}, h("h1", {}, "Logs"), totals, list.element);
};

const MJ_STATUS = { SUCCESS: ["done", "ok"], FAILURE: ["failed", "bad"], IN_PROGRESS: ["in progress", "warn"], SUBMITTED: ["queued", ""], NOT_START: ["queued", ""] };

Admin.mj = async () => h("section", {}, h("h1", {}, "Midjourney tasks"), table({ path: "/api/mj/", key: "admin-mj",
  filters: [{ name: "mj_id", label: "Task id" }, { name: "user_id", label: "User id", type: "number" }, { name: "channel_id", label: "Channel id", type: "number" },
    { name: "status", label: "Any status", options: Object.keys(MJ_STATUS).map((k) => [k, MJ_STATUS[k][0]]) }],
  columns: [
    { title: "Submitted", render: (t) => date(Math.floor(t.submit_time / 1000)) }, { title: "Task", render: (t) => h("code", {}, t.mj_id) },
    { title: "User", render: (t) => t.user_id }, { title: "Channel", render: (t) => t.channel_id },
    { title: "Action", render: (t) => t.action }, { title: "Prompt", render: (t) => t.prompt },
    { title: "Status", render: (t) => h("span", {}, badge(t.status, MJ_STATUS), " ", t.progress) },
    { title: "Cost", render: (t) => money(t.quota) },
    { title: "Image", render: (t) => (t.image_url ? h("a", { href: t.image_url, target: "_blank", rel: "noopener" }, h("img", { class: "preview", src: t.image_url, alt: "result", loading: "lazy" })) : h("span", { class: "muted" }, t.fail_reason)) },
  ] }).element);

Admin.orders = async () => {
  const list = table({ path: "/api/user/topup", key: "admin-orders",
    filters: [{ name: "trade_no", label: "Order" }, { name: "user_id", label: "User id", type: "number" },
      { name: "status", label: "Any status", options: [["pending", "waiting for payment"], ["success", "paid"]] }],
    columns: [
      { title: "Order", render: (o) => h("code", {}, o.trade_no) }, { title: "User", render: (o) => o.user_id },
      { title: "Quota bought (USD)", render: (o) => o.amount }, { title: "Paid", render: (o) => o.money },
      { title: "Method", render: (o) => o.payment_method }, { title: "Status", render: (o) => badge(o.status, { pending: ["waiting for payment", "warn"], success: ["paid", "ok"] }) },
      { title: "Created", render: (o) => date(o.create_time) }, { title: "Completed", render: (o) => date(o.complete_time) },
    ],
    actions: (o, reload) => [o.status === "pending" ? h("button", { onclick: () => confirm(`Mark ${o.trade_no} as paid?`) && act(api("POST", "/api/user/topup/complete", { trade_no: o.trade_no }), "Order completed").then(reload) }, "Complete") : null],
  });
  return h("section", {}, h("h1", {}, "Top-up orders"), list.element);
};
