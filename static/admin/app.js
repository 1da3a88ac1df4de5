// The admin dashboard: start-up and page routes. Only administrators get past the check.
"use strict";

(async () => {
  const status = await UI.loadStatus();
  document.getElementById("brand").textContent = `${status.system_name} Admin`;
  let self = null;
  try { self = await UI.api("GET", "/api/user/self"); } catch (err) { /* not logged in */ }
  if (!self || self.role < 10) {
    location.href = self ? "/#/home" : "/#/login";   // the admin side is for administrators only
    return;
  }
  UI.state.self = self;
  if (self.default_password) {
    document.getElementById("main").before(UI.h("div", { class: "banner", id: "default-password" },
      "You are still using the default root password. ", UI.h("a", { href: "/#/profile" }, "Change it now.")));
  }
  if (self.role < 100) document.querySelector('nav a[href="#/settings"]').hidden = true;
  UI.router({
    "/overview": Admin.overview, "/channels": Admin.channels, "/users": Admin.users, "/tokens": Admin.tokens,
    "/redemptions": Admin.redemptions, "/logs": Admin.logs, "/mj": Admin.mj, "/orders": Admin.orders,
    "/settings": Admin.settings,
  }, "/overview")();
})();
