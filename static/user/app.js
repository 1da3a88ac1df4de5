// The user dashboard: start-up, who is logged in, and the page routes.
"use strict";

const App = {
  async refreshSelf() {
    try {
      UI.state.self = await UI.api("GET", "/api/user/self");
    } catch (err) {
      UI.state.self = null;
    }
    const self = UI.state.self;
    document.getElementById("nav").hidden = !self;
    document.getElementById("admin-link").hidden = !self || self.role < 10;
    const main = document.getElementById("main");
    document.getElementById("default-password")?.remove();
    if (self && self.default_password) {
      main.before(UI.h("div", { class: "banner", id: "default-password" },
        "You are still using the default root password. ", UI.h("a", { href: "#/profile" }, "Change it now.")));
    }
    return self;
  },
};

(async () => {
  const status = await UI.loadStatus();
  document.getElementById("brand").textContent = status.system_name;
  const show = UI.router({
    "/login": Pages.login, "/register": Pages.register, "/logout": Pages.logout, "/home": Pages.home,
    "/tokens": Pages.tokens, "/logs": Pages.logs, "/topup": Pages.topup, "/mj": Pages.mj,
    "/pricing": Pages.pricing, "/invite": Pages.invite, "/profile": Pages.profile,
  }, "/home");
  const self = await App.refreshSelf();
  const open = ["#/login", "#/register"].some((p) => location.hash.startsWith(p));
  if (!self && !open) location.hash = "#/login";   // the hash change renders the login page
  else show();
})();
