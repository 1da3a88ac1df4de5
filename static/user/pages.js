// The user dashboard's pages. Each renders into <main> and talks only to /api.
"use strict";

const { api, act, h, table, form, dialog, date, money, copy, barChart } = UI;

const STATUS = { 1: ["enabled", "ok"], 2: ["disabled", "bad"], 3: ["expired", "warn"], 4: ["exhausted", "warn"] };
const badge = (code, names = STATUS) => { const [label, kind] = names[code] || [String(code), ""]; return h("span", { class: `badge ${kind}` }, label); };

const Pages = {};

Pages.login = async () => {
  const status = UI.state.status;
  return h("section", { class: "auth panel" }, h("h1", {}, `Log in to ${status.system_name}`),
    form([{ name: "username", label: "Username" }, { name: "password", label: "Password", type: "password" }], "Log in",
      async (v) => {
        await act(api("POST", "/api/user/login", v));
        location.hash = "#/home";
        App.refreshSelf();
      }),
    status.register_enabled ? h("p", {}, "No account yet? ", h("a", { href: "#/register" }, "Register")) : null);
};

Pages.register = async (query) => h("section", { class: "auth panel" }, h("h1", {}, "Create an account"),
  form([{ name: "username", label: "Username" }, { name: "password", label: "Password (8 characters or more)", type: "password" },
    { name: "aff_code", label: "Invite code (optional)", value: query.get("aff") || "" }], "Register",
  async (v) => {
    await act(api("POST", "/api/user/register", v), "Account created — log in now");
    location.hash = "#/login";
  }),
  h("p", {}, "Have an account? ", h("a", { href: "#/login" }, "Log in")));

Pages.logout = async () => {
  await api("GET", "/api/user/logout");
  UI.state.self = null;
  location.hash = "#/login";
  return h("p", {}, "Logged out.");
};

Pages.home = async () => {
  const self = await App.refreshSelf();
  const chartBox = h("div", {});
  const days = h("select", { "aria-label": "Days", onchange: () => drawUsage(chartBox, Number(days.value)) },
    h("option", { value: 7 }, "Last 7 days"), h("option", { value: 30 }, "Last 30 days"));
  drawUsage(chartBox, 7);
  return h("section", {}, h("h1", {}, `Hello, ${self.display_name || self.username}`),
    h("div", { class: "cards" },
      card("Balance", money(self.quota), "balance"), card("Used", money(self.used_quota), "used"),
      card("Requests", self.request_count, "requests"), card("Group", self.group, "group")),
    h("div", { class: "row" }, h("h2", {}, "Usage by model"), days), chartBox);
};

function card(title, value, id) {
  return h("div", { class: "card", id: `card-${id}` }, h("div", { class: "muted" }, title), h("div", { class: "value" }, value));
}

async function drawUsage(box, days) {
  let rows = [];
  try { rows = await api("GET", `/api/user/dashboard?days=${days}`); } catch (err) { box.replaceChildren(h("p", { class: "muted" }, err.message)); return; }
  rows = Array.isArray(rows) ? rows : rows.items || [];
  const labels = [];
  for (let i = days - 1; i >= 0; i--) labels.push(new Date(Date.now() - i * 86400000).toISOString().slice(0, 10));
  const series = {};
  for (const row of rows) {
    const model = row.model_name || row.model || "?";
    const day = String(row.day || row.date || "").slice(0, 10);
    const at = labels.indexOf(day);
    if (at < 0) continue;
    series[model] = series[model] || labels.map(() => 0);
    series[model][at] += row.quota || 0;
  }
  box.replaceChildren(barChart(labels.map((d) => d.slice(5)), series, `Quota spent per day (${days} days)`),
    h("p", { class: "muted" }, Object.keys(series).length ? "" : "No usage in this period."));
}

// ---- API keys -----------------------------------------------------------------------------------
const TOKEN_FIELDS = (t = {}) => [
  { name: "name", label: "Name", value: t.name || "" },
  { name: "unlimited_quota", label: "Unlimited quota", type: "checkbox", value: t.unlimited_quota ?? true },
  { name: "remain_quota", label: "Quota (when limited)", type: "number", value: t.remain_quota ?? 0 },
  { name: "expired_time", label: "Expires (empty: never)", type: "datetime", value: t.expired_time > 0 ? new Date(t.expired_time * 1000).toISOString().slice(0, 16) : "" },
  { name: "models", label: "Allowed models (comma-separated; empty: all)", value: t.models || "" },
  { name: "subnet", label: "Allowed IPs / CIDRs (comma-separated; empty: any)", value: t.subnet || "" },
  { name: "group", label: "Group (empty: your group)", value: t.group || "" },
  { name: "billing_mode", label: "Billing", type: "select", value: t.billing_mode || "ratio", options: [["ratio", "By tokens (ratio)"], ["per_call", "Per call"]] },
];

Pages.tokens = async () => {
  const list = table({
    path: "/api/token/", key: "tokens", filters: [{ name: "keyword", label: "Name" }],
    toolbar: [h("button", { type: "button", onclick: () => editToken(null, list.reload) }, "New key"),
      h("button", { type: "button", class: "ghost", onclick: () => batchTokens(list.reload) }, "Batch create")],
    columns: [
      { title: "Name", render: (t) => t.name },
      { title: "Status", render: (t) => badge(t.status) },
      { title: "Key", render: (t) => h("code", {}, t.key) },
      { title: "Quota left", render: (t) => (t.unlimited_quota ? "unlimited" : money(t.remain_quota)) },
      { title: "Used", render: (t) => money(t.used_quota) },
      { title: "Expires", render: (t) => (t.expired_time === -1 ? "never" : date(t.expired_time)) },
      { title: "Models", render: (t) => t.models || "all" },
    ],
    actions: (t, reload) => [
      h("button", { onclick: async () => copy(await act(revealKey(t.id)), "Key") }, "Copy key"),
      h("button", { class: "ghost", onclick: async () => showSnippet(await act(revealKey(t.id))) }, "Use it"),
      h("button", { class: "ghost", onclick: () => act(api("PUT", "/api/token/?status_only=true", { id: t.id, status: t.status === 1 ? 2 : 1 }), "Saved").then(reload) }, t.status === 1 ? "Disable" : "Enable"),
      h("button", { class: "ghost", onclick: () => editToken(t, reload) }, "Edit"),
      h("button", { class: "danger", onclick: () => confirm(`Delete key ${t.name}?`) && act(api("DELETE", `/api/token/${t.id}`), "Deleted").then(reload) }, "Delete"),
    ],
  });
  return h("section", {}, h("h1", {}, "API keys"), list.element);
};

async function revealKey(id) {
  return (await api("POST", `/api/token/${id}/key`)).key;
}

function showSnippet(key) {
  const base = `${location.origin}/v1`;
  const text = `export OPENAI_BASE_URL=${base}\nexport OPENAI_API_KEY=${key}\n\ncurl ${base}/chat/completions \\\n  -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\\n  -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'`;
  dialog("Use this key", h("div", {}, h("pre", { class: "snippet" }, text), h("button", { onclick: () => copy(text, "Snippet") }, "Copy")));
}

function editToken(token, reload) {
  const box = dialog(token ? `Edit ${token.name}` : "New API key", form(TOKEN_FIELDS(token || {}), token ? "Save" : "Create", async (v) => {
    if (token) {
      await act(api("PUT", "/api/token/", { ...v, id: token.id }), "Saved");
    } else {
      const created = await act(api("POST", "/api/token/", v), "Key created");
      if (created && created.key) showSnippet(created.key);
    }
    box.close();
    reload();
  }));
}

function batchTokens(reload) {
  const box = dialog("Create several keys", form([{ name: "count", label: "How many", type: "number", value: 5 }, ...TOKEN_FIELDS()], "Create", async (v) => {
    const count = v.count;
    delete v.count;
    const created = await act(api("POST", "/api/token/batch/create", { ...v, count }), "Keys created");
    box.close();
    const keys = (Array.isArray(created) ? created : created.keys || []).map((t) => (typeof t === "string" ? t : t.key));
    dialog("Your new keys (shown once)", h("div", {}, h("textarea", { rows: 8, readonly: true }, keys.join("\n")),
      h("button", { onclick: () => copy(keys.join("\n"), "Keys") }, "Copy all")));
    reload();
  }));
}

// ---- Logs ---------------------------------------------------------------------------------------
const LOG_TYPES = { 1: ["top-up", "ok"], 2: ["consume", ""], 3: ["manage", "warn"], 4: ["system", ""], 5: ["error", "bad"], 6: ["refund", "ok"] };
const LOG_FILTERS = [{ name: "model_name", label: "Model" }, { name: "token_name", label: "Key name" },
  { name: "start_timestamp", label: "From", type: "datetime-local" }, { name: "end_timestamp", label: "To", type: "datetime-local" }];

function logColumns(extra = []) {
  return [
    { title: "Time", render: (l) => date(l.created_at) },
    ...extra,
    { title: "Type", render: (l) => badge(l.type, LOG_TYPES) },
    { title: "Key", render: (l) => l.token_name || "" },
    { title: "Model", render: (l) => l.model_name || "" },
    { title: "Prompt", render: (l) => l.prompt_tokens ?? "" },
    { title: "Completion", render: (l) => l.completion_tokens ?? "" },
    { title: "Cost", render: (l) => money(l.quota || 0) },
    { title: "Detail", render: (l) => h("span", { class: "muted" }, l.content || "") },
  ];
}

function exportButtons(path, list) {
  const link = (format) => h("a", { class: "button ghost", href: "#", onclick: (e) => { e.preventDefault(); const q = list.query(); q.delete("p"); q.delete("page_size"); q.set("format", format); location.href = `${path}?${q}`; } }, `Export ${format.toUpperCase()}`);
  return [link("csv"), link("jsonl")];
}

Pages.logs = async () => {
  const totals = h("span", { class: "muted", id: "log-totals" });
  const list = table({ path: "/api/log/self", key: "logs", filters: LOG_FILTERS, columns: logColumns(),
    onload: async () => {
      try {
        const stat = await api("GET", `/api/log/self/stat?${list.query()}`);
        totals.textContent = `Spent in this selection: ${money(stat.quota || 0)}`;
      } catch (err) { totals.textContent = ""; }
    } });
  list.element.querySelector(".filters").append(...exportButtons("/api/log/self/export", list));
  return h("section", {}, h("h1", {}, "Logs"), totals, list.element);
};

// ---- Top-up -------------------------------------------------------------------------------------
Pages.topup = async (query) => {
  const tradeNo = query.get("trade_no");
  const orderState = h("div", {});
  if (tradeNo) {
    try {
      const order = await api("GET", `/api/user/topup/${encodeURIComponent(tradeNo)}`);
      orderState.append(h("div", { class: `banner`, id: "order-state" }, `Order ${order.trade_no}: ${order.status} — ${order.amount} for ${order.money}`));
    } catch (err) { orderState.append(h("p", { class: "error" }, err.message)); }
  }
  const quote = h("p", { class: "muted", id: "quote" });
  const orders = table({ path: "/api/user/topup/self", key: "orders", columns: [
    { title: "Order", render: (o) => h("code", {}, o.trade_no) }, { title: "Amount", render: (o) => o.amount },
    { title: "Paid", render: (o) => o.money }, { title: "Method", render: (o) => o.payment_method || o.method || "" },
    { title: "Status", render: (o) => o.status }, { title: "Created", render: (o) => date(o.create_time || o.created_time) }] });
  return h("section", {}, h("h1", {}, "Top up"), orderState,
    h("div", { class: "cards" },
      h("div", { class: "panel" }, h("h2", {}, "Redeem a code"), form([{ name: "key", label: "Code" }], "Redeem", async (v) => {
        const added = await act(api("POST", "/api/user/topup", v));
        UI.toast(`Added ${money(added)}`, "ok");
        App.refreshSelf();
      })),
      h("div", { class: "panel" }, h("h2", {}, "Pay online"), form([
        { name: "amount", label: "Amount", type: "number", value: 10 },
        { name: "payment_method", label: "Method", type: "select", options: [["alipay", "Alipay"], ["wxpay", "WeChat Pay"], ["qqpay", "QQ Pay"]] },
      ], "Pay", async (v) => {
        const money_ = await act(api("POST", "/api/user/amount", { amount: v.amount }));
        quote.textContent = `You pay ${money_}`;
        const order = await act(api("POST", "/api/user/pay", v));
        submitPayment(order);
      }), quote)),
    h("h2", {}, "Orders"), orders.element);
};

function submitPayment(order) {
  const params = order.params || order.data || {};
  const target = h("form", { method: "POST", action: order.url });
  for (const [k, v] of Object.entries(params)) target.append(h("input", { type: "hidden", name: k, value: v }));
  document.body.append(target);
  target.submit();
}

// ---- Midjourney, prices, invites, profile -------------------------------------------------------
Pages.mj = async () => h("section", {}, h("h1", {}, "Midjourney tasks"), table({ path: "/api/mj/self", key: "mj", columns: [
  { title: "Submitted", render: (t) => date(Math.floor((t.submit_time || 0) / (t.submit_time > 1e12 ? 1000 : 1))) },
  { title: "Action", render: (t) => t.action }, { title: "Prompt", render: (t) => t.prompt || "" },
  { title: "Status", render: (t) => `${t.status} ${t.progress || ""}` },
  { title: "Image", render: (t) => (t.image_url || t.imageUrl ? h("a", { href: t.image_url || t.imageUrl, target: "_blank" }, h("img", { src: t.image_url || t.imageUrl, alt: "result", loading: "lazy", style: "max-width:120px;border-radius:6px" })) : t.fail_reason || "") },
] }).element);

Pages.pricing = async () => {
  const data = await api("GET", "/api/pricing");
  const rows = (Array.isArray(data) ? data : data.items || []).map((m) => h("tr", {},
    h("td", { "data-label": "Model" }, h("code", {}, m.model_name || m.model)),
    h("td", { "data-label": "Billing" }, m.model_price !== null && m.model_price !== undefined ? "per call" : "per token"),
    h("td", { "data-label": "Input, per 1M tokens" }, m.model_price != null ? "—" : `$${(m.model_ratio * 2).toFixed(4)}`),
    h("td", { "data-label": "Output, per 1M tokens" }, m.model_price != null ? "—" : `$${(m.model_ratio * 2 * m.completion_ratio).toFixed(4)}`),
    h("td", { "data-label": "Per call" }, m.model_price != null ? `$${m.model_price}` : "—")));
  return h("section", {}, h("h1", {}, "Model prices"), h("p", { class: "muted" }, "Prices before your group's ratio."),
    h("div", { class: "table-card" }, h("table", {}, h("thead", {}, h("tr", {}, ["Model", "Billing", "Input, per 1M tokens", "Output, per 1M tokens", "Per call"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))));
};

Pages.invite = async () => {
  const code = await api("GET", "/api/user/aff");
  const link = `${location.origin}/#/register?aff=${code}`;
  return h("section", {}, h("h1", {}, "Invite friends"), h("p", {}, "Share this link; you both get a reward when they register."),
    h("div", { class: "row" }, h("code", { id: "invite-link" }, link), h("button", { onclick: () => copy(link, "Link") }, "Copy")));
};

Pages.profile = async () => {
  const self = await App.refreshSelf();
  const tokenBox = h("div", {});
  return h("section", {}, h("h1", {}, "Profile"),
    h("div", { class: "panel" }, h("h2", {}, "Display name"), form([{ name: "display_name", label: "Display name", value: self.display_name }], "Save",
      async (v) => { await act(api("PUT", "/api/user/self", v), "Saved"); App.refreshSelf(); })),
    h("div", { class: "panel" }, h("h2", {}, "Password"), form([
      { name: "original_password", label: "Current password", type: "password" },
      { name: "password", label: "New password", type: "password" }], "Change password",
    async (v) => { await act(api("PUT", "/api/user/self", v), "Password changed"); App.refreshSelf(); })),
    h("div", { class: "panel" }, h("h2", {}, "Access token"), h("p", { class: "muted" }, "For scripts that call /api: send it as the Authorization header. Making a new one ends the old one."),
      h("button", { onclick: async () => { const t = await act(api("GET", "/api/user/token"), "New access token made"); tokenBox.replaceChildren(h("code", {}, t), h("button", { class: "ghost", onclick: () => copy(t, "Token") }, "Copy")); } }, "Make an access token"), tokenBox));
};
