// The admin settings page: every option by group, JSON tables checked in the browser before saving
// (the server checks again and keeps the old value on a bad one).
"use strict";

const OPTION_GROUPS = [
  ["System", [["SystemName", "text"], ["ServerAddress", "text"], ["Notice", "textarea"], ["About", "textarea"], ["HomePageContent", "textarea"], ["TopUpLink", "text"], ["ChatLink", "text"]]],
  ["Registration and login", [["RegisterEnabled", "bool"], ["PasswordRegisterEnabled", "bool"], ["PasswordLoginEnabled", "bool"]]],
  ["Quotas", [["QuotaForNewUser", "number"], ["QuotaForInviter", "number"], ["QuotaForInvitee", "number"], ["PreConsumedQuota", "number"], ["QuotaPerUnit", "number"], ["DisplayInCurrencyEnabled", "bool"], ["DisplayTokenStatEnabled", "bool"], ["LogConsumeEnabled", "bool"]]],
  ["Ratios and prices", [["ModelRatio", "json"], ["CompletionRatio", "json"], ["GroupRatio", "json"], ["ModelPrice", "json"], ["UserUsableGroups", "json"]]],
  ["Payment", [["PayAddress", "text"], ["EpayId", "text"], ["EpayKey", "secret"], ["Price", "number"], ["MinTopUp", "number"], ["PayMethods", "json"], ["TopupGroupRatio", "json"], ["CustomCallbackAddress", "text"]]],
  ["WxPusher notices", [["WxPusherAppToken", "secret"], ["WxPusherUids", "text"], ["WxPusherTopicIds", "text"], ["NotifyEnabled", "bool"]]],
  ["Channel automation", [["RetryTimes", "number"], ["AutomaticDisableChannelEnabled", "bool"], ["AutomaticEnableChannelEnabled", "bool"], ["ChannelDisableThreshold", "number"]]],
];

Admin.settings = async () => {
  const list = await UI.api("GET", "/api/option/");
  const values = Object.fromEntries((Array.isArray(list) ? list : []).map((o) => [o.key, o.value]));
  const known = new Set(Object.keys(values));
  const section = UI.h("section", {}, UI.h("h1", {}, "Settings"),
    UI.h("p", { class: "muted" }, "Secrets are never shown; type a new value to replace one."));
  for (const [title, options] of OPTION_GROUPS) {
    const rows = options.filter(([key, kind]) => known.has(key) || kind === "secret").map(([key, kind]) => optionRow(key, kind, values[key]));
    if (rows.length) section.append(UI.h("div", { class: "panel" }, UI.h("h2", {}, title), rows));
  }
  return section;
};

function optionRow(key, kind, value) {
  let input;
  if (kind === "bool") input = UI.h("input", { type: "checkbox", checked: value === "true" });
  else if (kind === "json") input = UI.h("textarea", { rows: 6 }, prettyJson(value));
  else if (kind === "textarea") input = UI.h("textarea", { rows: 3 }, value ?? "");
  else input = UI.h("input", { type: kind === "secret" ? "password" : kind === "number" ? "number" : "text", value: kind === "secret" ? "" : value ?? "", step: "any" });
  input.name = key;
  const save = UI.h("button", { type: "button", onclick: async () => {
    let next = kind === "bool" ? String(input.checked) : input.value;
    if (kind === "json") {
      try { next = JSON.stringify(JSON.parse(next)); } catch (err) { UI.toast(`${key} is not valid JSON: ${err.message}`, "error"); return; }
    }
    await UI.act(UI.api("PUT", "/api/option/", { key, value: next }), `${key} saved`);
  } }, "Save");
  return UI.h("div", { class: "option", "data-option": key }, UI.h("label", { class: kind === "bool" ? "check" : "" }, UI.h("strong", {}, key), input), save);
}

function prettyJson(value) {
  try { return JSON.stringify(JSON.parse(value), null, 2); } catch (err) { return value ?? ""; }
}
