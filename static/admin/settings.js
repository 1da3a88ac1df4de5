// The admin settings page: every option the server lists, by group; JSON tables are checked in the browser
// before saving (the server checks again and keeps the old value on a bad one).
"use strict";

const OPTION_GROUPS = [
  ["System", ["SystemName", "ServerAddress", "Logo", "Footer", "Notice", "About", "HomePageContent", "TopUpLink", "ChatLink"]],
  ["Registration and login", ["RegisterEnabled", "PasswordRegisterEnabled", "PasswordLoginEnabled"]],
  ["Quotas and display", ["QuotaForNewUser", "QuotaForInviter", "QuotaForInvitee", "PreConsumedQuota", "QuotaPerUnit",
    "DisplayInCurrencyEnabled", "DisplayTokenStatEnabled", "LogConsumeEnabled"]],
  ["Ratios and prices", ["ModelRatio", "CompletionRatio", "ModelPrice", "GroupRatio", "UserUsableGroups", "CacheRatio",
    "CacheCreationRatio", "DefaultModelRatio"]],
  ["Payment", ["PayAddress", "EpayId", "EpayKey", "Price", "MinTopUp", "PayMethods", "TopupGroupRatio", "CustomCallbackAddress"]],
  ["WxPusher notices", ["WxPusherNotificationsEnabled", "WxPusherAddress", "WxPusherAppToken", "WxPusherUids", "WxPusherTopicIds"]],
  ["Channel automation", ["RetryTimes", "AutomaticDisableChannelEnabled", "AutomaticEnableChannelEnabled",
    "ChannelDisableThreshold", "MjTaskTimeout"]],
];
// Never listed by the server (secrets): shown as empty fields that replace the value when saved.
const SECRET_OPTIONS = ["EpayKey", "WxPusherAppToken"];
const LONG_TEXT = ["Notice", "About", "HomePageContent", "Footer"];

Admin.settings = async () => {
  const values = Object.fromEntries((await UI.api("GET", "/api/option/")).map((o) => [o.key, o.value]));
  const section = UI.h("section", {}, UI.h("h1", {}, "Settings"),
    UI.h("p", { class: "muted" }, "Secrets are never shown; type a new value to replace one."));
  const placed = new Set();
  const groups = [...OPTION_GROUPS, ["Other", Object.keys(values)]];
  for (const [title, names] of groups) {
    const rows = names.filter((key) => !placed.has(key) && (key in values || SECRET_OPTIONS.includes(key)))
      .map((key) => { placed.add(key); return optionRow(key, values[key]); });
    if (rows.length) section.append(UI.h("div", { class: "panel" }, UI.h("h2", {}, title), rows));
  }
  return section;
};

function optionKind(key, value) {
  if (SECRET_OPTIONS.includes(key)) return "secret";
  if (value === "true" || value === "false") return "bool";
  if (/^\s*[[{]/.test(value)) return "json";
  return LONG_TEXT.includes(key) ? "textarea" : "text";
}

function optionRow(key, value) {
  const kind = optionKind(key, value);
  let input;
  if (kind === "bool") input = UI.h("input", { type: "checkbox", checked: value === "true" });
  else if (kind === "json") input = UI.h("textarea", { rows: Math.min(12, prettyJson(value).split("\n").length + 1) }, prettyJson(value));
  else if (kind === "textarea") input = UI.h("textarea", { rows: 3 }, value);
  else input = UI.h("input", { type: kind === "secret" ? "password" : "text", value: kind === "secret" ? "" : value, autocomplete: "off" });
  input.name = key;
  const save = UI.h("button", { type: "button", onclick: async () => {
    let next = kind === "bool" ? String(input.checked) : input.value;
    if (kind === "json") {
      try { next = JSON.stringify(JSON.parse(next)); } catch (err) { UI.toast(`${key} is not valid JSON: ${err.message}`, "error"); return; }
    }
    await UI.act(UI.api("PUT", "/api/option/", { key, value: next }), `${key} saved`).catch(() => {});
  } }, "Save");
  return UI.h("div", { class: "option", "data-option": key },
    UI.h("label", { class: kind === "bool" ? "check" : "" }, UI.h("strong", {}, key), input), save);
}

function prettyJson(value) {
  try { return JSON.stringify(JSON.parse(value), null, 2); } catch (err) { return value; }
}
