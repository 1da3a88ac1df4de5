// Tollgate dashboards: the small shared toolkit (API calls, messages, tables with server paging, forms,
// formatting, charts). No build step; each page script uses the `UI` object defined here.
"use strict";

const UI = (() => {
  const state = { status: null, self: null };

  // ---- API ------------------------------------------------------------------------------------
  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response, payload;
    try {
      response = await fetch(path, options);
      payload = await response.json();
    } catch (err) {
      throw new Error(response ? `${response.status} ${response.statusText}` : "the server did not answer");
    }
    if (!response.ok || payload.success === false) {
      const error = new Error(payload.message || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return payload.data;
  }

  // Run an action, then show its success or the server's error message. The error is thrown on so the
  // caller stops (a dialog stays open); once shown, it is not reported again as an unhandled rejection.
  async function act(promise, success) {
    try {
      const result = await promise;
      if (success) toast(success, "ok");
      return result;
    } catch (err) {
      toast(err.message, "error");
      err.shown = true;
      if (err.status === 401) location.hash = "#/login";
      throw err;
    }
  }
  window.addEventListener("unhandledrejection", (event) => { if (event.reason && event.reason.shown) event.preventDefault(); });

  // ---- DOM helpers ----------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "class") el.className = value;
      else if (key === "html") el.innerHTML = value;
      else el.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // Messages go into the open dialog when there is one: a modal dialog covers everything outside it.
  function toastBox(host) {
    return host.querySelector(":scope > .toasts") || host.appendChild(h("div", { class: "toasts" }));
  }

  function toast(message, kind) {
    const box = toastBox(document.querySelector("dialog[open]") || document.body);
    const item = h("div", { class: `toast ${kind || ""}`, role: kind === "error" ? "alert" : "status" }, message);
    box.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 3500);
  }

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      toast(`${what || "Text"} copied`, "ok");
    } catch (err) {
      window.prompt("Copy this:", text);
    }
  }

  // ---- Formatting -----------------------------------------------------------------------------
  function date(ts) {
    if (!ts || ts < 0) return "—";
    return new Date(ts * 1000).toLocaleString();
  }

  // A Unix time as the value of a datetime-local input, in the browser's time zone ("" for none).
  function localInput(ts) {
    if (!ts || ts < 0) return "";
    const d = new Date(ts * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  // The browser's calendar date of a Date, as YYYY-MM-DD.
  function localDay(d) {
    return localInput(d.getTime() / 1000).slice(0, 10);
  }

  function money(quota) {
    const status = state.status || {};
    if (status.display_in_currency && status.quota_per_unit) {
      return "$" + (quota / status.quota_per_unit).toFixed(quota && Math.abs(quota) < status.quota_per_unit / 100 ? 6 : 2);
    }
    return String(quota);
  }

  // Amounts are typed in quota units; say what one dollar is.
  function quotaHelp() {
    return `${(state.status || {}).quota_per_unit} quota = $1`;
  }

  // ---- Tables with server paging --------------------------------------------------------------
  // spec: {path, columns: [{title, render(row)}], filters: [{name, label, type}], actions(row) -> [nodes],
  //        key: a name to remember the page size under, toolbar: [nodes]}
  function table(spec) {
    const sizeKey = `tollgate.pageSize.${spec.key || spec.path}`;
    let page = 1;
    let size = Number(localStorage.getItem(sizeKey)) || 20;
    const filterInputs = (spec.filters || []).map((f) => (f.options
      ? h("select", { name: f.name, "aria-label": f.label }, h("option", { value: "" }, f.label), f.options.map(([v, label]) => h("option", { value: v }, label)))
      : h("input", { name: f.name, placeholder: f.label, type: f.type || "text", "aria-label": f.label, step: f.type === "datetime-local" ? 1 : undefined })));
    const body = h("tbody");
    const info = h("span", { class: "muted" });
    const sizeSelect = h("select", { "aria-label": "Rows per page", onchange: () => {
      size = Number(sizeSelect.value);
      localStorage.setItem(sizeKey, size);
      page = 1;
      load();
    } }, [10, 20, 50, 100].map((n) => h("option", { value: n, selected: n === size }, `${n} / page`)));
    const prev = h("button", { class: "ghost", onclick: () => { page -= 1; load(); } }, "‹ Prev");
    const next = h("button", { class: "ghost", onclick: () => { page += 1; load(); } }, "Next ›");

    function query() {
      const params = new URLSearchParams({ p: page, page_size: size });
      for (const input of filterInputs) {
        if (!input.value) continue;
        const value = input.type === "datetime-local" ? Math.floor(new Date(input.value).getTime() / 1000) : input.value;
        params.set(input.name, value);
      }
      return params;
    }

    async function load() {
      let data;
      try {
        data = await api("GET", `${spec.path}?${query()}`);
      } catch (err) {
        toast(err.message, "error");
        return;
      }
      const items = Array.isArray(data) ? data : data.items || [];
      const total = Array.isArray(data) ? items.length : data.total || 0;
      body.replaceChildren(...(items.length ? items.map(row) : [h("tr", {}, h("td", { colspan: spec.columns.length + 1, class: "muted" }, "Nothing here yet."))]));
      const pages = Math.max(1, Math.ceil(total / size));
      info.textContent = `Page ${page} of ${pages} · ${total} in all`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
      if (spec.onload) spec.onload(data);
    }

    function row(item) {
      const cells = spec.columns.map((c) => h("td", { "data-label": c.title }, c.render(item)));
      if (spec.actions) cells.push(h("td", { class: "actions" }, spec.actions(item, load)));
      return h("tr", {}, cells);
    }

    const filterForm = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); page = 1; load(); } },
      filterInputs, filterInputs.length ? h("button", { type: "submit" }, "Search") : null, spec.toolbar || []);
    const element = h("div", { class: "table-card" }, filterForm,
      h("div", { class: "table-scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, spec.columns.map((c) => h("th", {}, c.title)), spec.actions ? h("th", {}, "") : null)),
        body)),
      h("div", { class: "pager" }, prev, info, next, sizeSelect));
    load();
    return { element, reload: load, query };
  }

  // ---- Forms ----------------------------------------------------------------------------------
  // fields: [{name, label, type: text|number|password|checkbox|select|textarea|datetime, options, value, help}]
  function form(fields, submitLabel, onSubmit) {
    const inputs = {};
    const rows = fields.map((f) => {
      let input;
      if (f.type === "select") {
        input = h("select", { name: f.name }, f.options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(f.value) }, label)));
      } else if (f.type === "textarea") {
        input = h("textarea", { name: f.name, rows: f.rows || 4 }, f.value ?? "");
      } else if (f.type === "checkbox") {
        input = h("input", { name: f.name, type: "checkbox", checked: !!f.value });
      } else {
        input = h("input", { name: f.name, type: f.type === "datetime" ? "datetime-local" : f.type || "text", value: f.value ?? "",
          placeholder: f.placeholder || "", step: f.type === "datetime" ? 1 : f.type === "number" ? "any" : undefined });
      }
      inputs[f.name] = { input, field: f };
      return h("label", { class: f.type === "checkbox" ? "check" : "" }, h("span", {}, f.label), input, f.help ? h("small", { class: "muted" }, f.help) : null);
    });
    const button = h("button", { type: "submit" }, submitLabel);
    const element = h("form", { class: "form", onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      try { await onSubmit(values()); } catch (err) { /* the message was shown */ } finally { button.disabled = false; }
    } }, rows, button);

    function values() {
      const out = {};
      for (const [name, { input, field }] of Object.entries(inputs)) {
        if (field.type === "checkbox") out[name] = input.checked;
        else if (field.type === "number") out[name] = input.value === "" ? undefined : Number(input.value);
        else if (field.type === "datetime") out[name] = input.value ? Math.floor(new Date(input.value).getTime() / 1000) : -1;
        else out[name] = input.value;
      }
      return out;
    }
    return element;
  }

  function dialog(title, content) {
    const box = h("dialog", { class: "dialog" }, h("header", {}, h("h3", {}, title),
      h("button", { class: "ghost", "aria-label": "Close", onclick: () => close() }, "✕")), content);
    document.body.append(box);
    box.showModal();
    function close() {
      box.close();
      const messages = box.querySelector(":scope > .toasts");    // still to be read: move them out
      if (messages) toastBox(document.body).append(...messages.children);
      box.remove();
    }
    return { close, element: box };
  }

  // ---- Charts (inline SVG, no library) --------------------------------------------------------
  // Names in a chart come from logs (model names callers sent): escape them before they become markup.
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  // series: {label: [values by x]}; labels: x labels
  function barChart(labels, series, title, format = String) {
    const names = Object.keys(series);
    const totals = labels.map((_, i) => names.reduce((s, n) => s + (series[n][i] || 0), 0));
    const max = Math.max(1, ...totals);
    const width = 640, height = 220, pad = 30, barW = (width - pad * 2) / Math.max(labels.length, 1);
    const colours = ["#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#ec4899", "#64748b"];
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title);
    let markup = "";
    labels.forEach((label, i) => {
      let y = height - pad;
      names.forEach((n, k) => {
        const v = series[n][i] || 0;
        if (!v) return;
        const bh = (v / max) * (height - pad * 2);
        y -= bh;
        markup += `<rect data-series="${esc(n)}" x="${pad + i * barW + 4}" y="${y}" width="${Math.max(barW - 8, 2)}" height="${bh}" fill="${colours[k % colours.length]}"><title>${esc(n)}: ${esc(format(v))}</title></rect>`;
      });
      if (i % Math.ceil(labels.length / 10)) return;   // at most ten labels fit under the bars
      markup += `<text x="${pad + i * barW + barW / 2}" y="${height - 10}" font-size="10" text-anchor="middle">${esc(label)}</text>`;
    });
    if (Math.max(...totals) > 0) markup += `<text x="${pad}" y="${pad - 10}" font-size="10" fill="#6b7280">max ${esc(format(max))}</text>`;
    svg.innerHTML = markup;
    const legend = h("div", { class: "legend" }, names.map((n, k) => h("span", {}, h("i", { style: `background:${colours[k % colours.length]}` }), n)));
    return h("figure", { class: "chart" }, h("figcaption", {}, title), svg, legend);
  }

  // ---- Routing --------------------------------------------------------------------------------
  function router(routes, fallback) {
    async function show() {
      const [path, queryString] = (location.hash.slice(1) || fallback).split("?");
      const render = routes[path] || routes[fallback];
      const main = document.getElementById("main");
      document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#${path}`));
      main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      try {
        main.replaceChildren(await render(new URLSearchParams(queryString || "")));
      } catch (err) {
        main.replaceChildren(h("p", { class: "error" }, err.message));
        if (err.status === 401) location.hash = "#/login";
      }
    }
    window.addEventListener("hashchange", show);
    return show;
  }

  async function loadStatus() {
    state.status = await api("GET", "/api/status");
    document.title = `${state.status.system_name} ${document.title.includes("Admin") ? "Admin" : ""}`.trim();
    return state.status;
  }

  return { api, act, h, toast, copy, date, localInput, localDay, money, quotaHelp, table, form, dialog, barChart, router, loadStatus, state };
})();
