// The user dashboard's pages. Each renders into <main> and talks only to /api.
"use strict";

const { api, act, h, table, form, dialog, date, money, copy, barChart, localInput, localDay } = UI;

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

// The server groups by day in the browser's time zone (it is sent the offset), so days match the labels.
async function drawUsage(box, days) {
  let rows;
  const offset = -new Date().getTimezoneOffset();
  try { rows = await api("GET", `/api/user/dashboard?days=${days}&utc_offset=${offset}`); } catch (err) { box.replaceChildren(h("p", { class: "error" }, err.message)); return; }
  const labels = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date();
    d.setDate(d.getDate() - i);
    labels.push(localDay(d));
  }
  const series = {};
  let quota = 0, requests = 0;
  for (const row of rows) {
    const at = labels.indexOf(row.day);
    if (at < 0) continue;
    series[row.model_name] = series[row.model_name] || labels.map(() => 0);
    series[row.model_name][at] += row.quota;
    quota += row.quota;
    requests += row.request_count;
  }
  box.replaceChildren(barChart(labels.map((d) => d.slice(5)), series, `Spent per day and model (${days} days)`, money),
    h("p", { class: "muted", id: "usage-total" }, requests ? `${money(quota)} spent on ${requests} requests in this period.` : "No usage in this period."));
}

// ---- API keys -----------------------------------------------------------------------------------
const TOKEN_FIELDS = (t = {}) => [
  { name: "name", label: "Name", value: t.name || "" },
  { name: "unlimited_quota", label: "Unlimited quota", type: "checkbox", value: t.unlimited_quota ?? true },
  { name: "remain_quota", label: "Quota (when limited)", type: "number", value: t.remain_quota ?? 0, help: UI.quotaHelp() },
  { name: "rpm_limit", label: "Requests per minute (0: no limit)", type: "number", value: t.rpm_limit ?? 0 },
  { name: "expired_time", label: "Expires (empty: never)", type: "datetime", value: localInput(t.expired_time) },
  { name: "models", label: "Allowed models (comma-separated; empty: all)", value: t.models || "" },
  { name: "subnet", label: "Allowed IPs / CIDRs (comma-separated; empty: any)", value: t.subnet || "" },
  { name: "group", label: "Group", type: "select", value: t.group || "", options: [["", "Your account's group"], ...[...new Set([...GROUPS, t.group].filter(Boolean))].map((g) => [g, g])] },
  { name: "billing_mode", label: "Billing", type: "select", value: t.billing_mode || "ratio", options: [["ratio", "By tokens (ratio)"], ["per_call", "Per call"]] },
];

let GROUPS = [];

Pages.tokens = async () => {
  GROUPS = Object.keys(await api("GET", "/api/user/self/groups"));
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
  const base = `${UI.state.status.server_address || location.origin}/v1`;
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
    const created = await act(api("POST", "/api/token/batch/create", v), `${v.count} keys created`);
    box.close();
    const keys = created.map((t) => `${t.name}\t${t.key}`);
    dialog("Your new keys", h("div", {}, h("p", { class: "muted" }, "Each key can be copied again later from its row."),
      h("textarea", { rows: 8, readonly: true, id: "new-keys" }, keys.join("\n")),
      h("button", { onclick: () => copy(keys.join("\n"), "Keys") }, "Copy all")));
    reload();
  }));
}

// ---- Logs ---------------------------------------------------------------------------------------
const LOG_TYPES = { 1: ["top-up", "ok"], 2: ["consume", ""], 3: ["manage", "warn"], 4: ["system", ""], 5: ["error", "bad"], 6: ["refund", "ok"] };
const LOG_FILTERS = [{ name: "type", label: "Any type", options: Object.entries(LOG_TYPES).map(([v, [label]]) => [v, label]) },
  { name: "model_name", label: "Model" }, { name: "token_name", label: "Key name" },
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

// Export buttons: the filters are checked through the stat route first (same rules), so a bad filter shows
// the server's message here instead of a download of an error; then the browser downloads the stream.
function exportButtons(path, statPath, list) {
  const button = (format) => h("button", { type: "button", class: "ghost", onclick: async () => {
    const q = list.query();
    q.delete("p");
    q.delete("page_size");
    await act(api("GET", `${statPath}?${q}`));
    q.set("format", format);
    location.href = `${path}?${q}`;
  } }, `Export ${format.toUpperCase()}`);
  return [button("csv"), button("jsonl")];
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
  list.element.querySelector(".filters").append(...exportButtons("/api/log/self/export", "/api/log/self/stat", list));
  return h("section", {}, h("h1", {}, "Logs"), totals, list.element);
};

// ---- Top-up -------------------------------------------------------------------------------------
const ORDER_STATUS = { pending: ["waiting for payment", "warn"], success: ["paid", "ok"] };
const METHOD_NAMES = { alipay: "Alipay", wxpay: "WeChat Pay", qqpay: "QQ Pay" };

Pages.topup = async (query) => {
  const self = await App.refreshSelf();
  const offer = await api("GET", "/api/user/pay");
  const balance = h("div", { class: "value", id: "topup-balance" }, money(self.quota));
  const orders = table({ path: "/api/user/topup/self", key: "orders", columns: [
    { title: "Order", render: (o) => h("code", {}, o.trade_no) }, { title: "Quota bought (USD)", render: (o) => o.amount },
    { title: "Paid", render: (o) => o.money }, { title: "Method", render: (o) => METHOD_NAMES[o.payment_method] || o.payment_method },
    { title: "Status", render: (o) => badge(o.status, ORDER_STATUS) }, { title: "Created", render: (o) => date(o.create_time) },
    { title: "Completed", render: (o) => date(o.complete_time) }] });
  const redeem = form([{ name: "key", label: "Code" }], "Redeem", async (v) => {
    const added = await act(api("POST", "/api/user/topup", v));
    UI.toast(`Redeemed: ${money(added)} added`, "ok");
    balance.textContent = money((await App.refreshSelf()).quota);
    orders.reload();
  });
  return h("section", {}, h("h1", {}, "Top up"), query.get("trade_no") ? await orderState(query.get("trade_no")) : null,
    h("div", { class: "cards" },
      h("div", { class: "card" }, h("div", { class: "muted" }, "Balance"), balance),
      h("div", { class: "panel" }, h("h2", {}, "Redeem a code"), redeem),
      h("div", { class: "panel" }, h("h2", {}, "Pay online"), offer.enabled ? payForm(offer)
        : h("p", { class: "muted" }, "Online payment is not set up on this site.", UI.state.status.top_up_link
          ? h("span", {}, " ", h("a", { href: UI.state.status.top_up_link, target: "_blank", rel: "noopener" }, "Buy a code here.")) : null))),
    h("h2", {}, "Orders"), orders.element);
};

// The state of an order the payment site sent the browser back for, from the server's records.
async function orderState(tradeNo) {
  try {
    const order = await api("GET", `/api/user/topup/${encodeURIComponent(tradeNo)}`);
    const paid = order.status === "success";
    return h("div", { class: `banner ${paid ? "ok" : ""}`, id: "order-state" }, paid
      ? `Order ${order.trade_no} is paid: ${money(order.quota)} was added to your balance.`
      : `Order ${order.trade_no} is waiting for the payment site's confirmation (${order.money}). Reload this page in a moment.`);
  } catch (err) {
    return h("p", { class: "error", id: "order-state" }, err.message);
  }
}

function payForm(offer) {
  const quote = h("p", { class: "muted", id: "quote" }, `Price: ${offer.price} per 1 USD of quota; at least ${offer.min_topup}.`);
  return h("div", {}, form([
    { name: "amount", label: "USD of quota to buy", type: "number", value: offer.min_topup },
    { name: "payment_method", label: "Method", type: "select", options: offer.pay_methods.map((m) => [m, METHOD_NAMES[m] || m]) },
  ], "Pay", async (v) => {
    quote.textContent = `You pay ${await act(api("POST", "/api/user/amount", { amount: v.amount }))}`;
    submitPayment(await act(api("POST", "/api/user/pay", v)));
  }), quote);
}

// The payment site takes a signed form posted by the browser.
function submitPayment(order) {
  const target = h("form", { method: "POST", action: order.url });
  for (const [k, v] of Object.entries(order.params)) target.append(h("input", { type: "hidden", name: k, value: v }));
  document.body.append(target);
  target.submit();
}

// ---- Midjourney, prices, invites, profile -------------------------------------------------------
const MJ_STATUS = { SUCCESS: ["done", "ok"], FAILURE: ["failed", "bad"], IN_PROGRESS: ["in progress", "warn"], SUBMITTED: ["queued", ""], NOT_START: ["queued", ""] };

function mjPreview(t) {
  if (t.image_url) return h("a", { href: t.image_url, target: "_blank", rel: "noopener" }, h("img", { class: "preview", src: t.image_url, alt: `${t.action} result`, loading: "lazy" }));
  return h("span", { class: "muted" }, t.fail_reason || "");
}

Pages.mj = async () => h("section", {}, h("h1", {}, "Midjourney tasks"), table({ path: "/api/mj/self", key: "mj",
  filters: [{ name: "mj_id", label: "Task id" }, { name: "status", label: "Any status", options: Object.keys(MJ_STATUS).map((k) => [k, MJ_STATUS[k][0]]) }],
  columns: [
    { title: "Submitted", render: (t) => date(Math.floor(t.submit_time / 1000)) }, { title: "Task", render: (t) => h("code", {}, t.mj_id) },
    { title: "Action", render: (t) => t.action }, { title: "Prompt", render: (t) => t.prompt },
    { title: "Status", render: (t) => h("span", {}, badge(t.status, MJ_STATUS), " ", t.progress) },
    { title: "Cost", render: (t) => money(t.quota) }, { title: "Image", render: mjPreview },
  ] }).element);

// Prices in USD (before the group ratio): a ratio of 1 is QuotaPerUnit⁻¹ USD per token.
Pages.pricing = async () => {
  const data = await api("GET", "/api/pricing");
  const perMillion = (ratio) => `$${(ratio * 1e6 / data.quota_per_unit).toFixed(4)}`;
  const rows = data.items.map((m) => {
    const perCall = m.model_price !== null, priced = perCall || m.model_ratio !== null;
    return h("tr", {},
      h("td", { "data-label": "Model" }, h("code", {}, m.model_name)),
      h("td", { "data-label": "Billing" }, perCall ? "per call" : priced ? "per token" : h("span", { class: "muted" }, "no price set")),
      h("td", { "data-label": "Input, per 1M tokens" }, priced && !perCall ? perMillion(m.model_ratio) : "—"),
      h("td", { "data-label": "Output, per 1M tokens" }, priced && !perCall ? perMillion(m.model_ratio * m.completion_ratio) : "—"),
      h("td", { "data-label": "Per call" }, perCall ? `$${m.model_price}` : "—"));
  });
  const heads = ["Model", "Billing", "Input, per 1M tokens", "Output, per 1M tokens", "Per call"];
  return h("section", {}, h("h1", {}, "Model prices"),
    h("p", { class: "muted" }, `Prices of the models your group (${data.group}) may use, before your group's ratio of ×${data.group_ratio}.`),
    h("div", { class: "table-card" }, h("div", { class: "table-scroll" }, h("table", { id: "prices" },
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No models are available to your group yet.")))))));
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
