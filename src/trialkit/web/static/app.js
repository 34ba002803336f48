// trialkit: the idle warning and htmx's CSRF header. No inline script anywhere (CSP).
(function () {
  "use strict";
  var body = document.body;
  var token = body.getAttribute("data-csrftoken");
  document.addEventListener("htmx:configRequest", function (evt) {
    if (token) { evt.detail.headers["x-csrftoken"] = token; }
  });
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "", 10);
  var warn = parseInt(body.getAttribute("data-warn-seconds") || "", 10);
  var dialog = document.getElementById("idle-warning");
  if (isNaN(idle) || isNaN(warn) || !dialog) { return; }
  var deadline = Date.now() + idle * 1000;
  var countdown = document.getElementById("idle-countdown");
  var label = countdown ? countdown.getAttribute("data-label") : "";
  var digits = document.documentElement.lang === "fa" ? "۰۱۲۳۴۵۶۷۸۹" : null;
  function shown(n) {
    var s = String(n);
    return digits ? s.replace(/[0-9]/g, function (d) { return digits[+d]; }) : s;
  }
  function show() {
    var left = Math.round((deadline - Date.now()) / 1000);
    if (left > warn) { if (dialog.open) { dialog.close(); } return; }
    if (!dialog.open) { dialog.showModal(); }
    if (countdown) { countdown.textContent = label + " " + shown(Math.max(0, left)); }
  }
  // Before warning, and at the end, ask the server how long the session really has left:
  // the user may be working in another tab (asking does not count as activity).
  var asking = false;
  function ask() {
    if (asking) { return; }
    asking = true;
    fetch("/api/session", { credentials: "same-origin", headers: { "accept": "application/json" } })
      .then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      })
      .then(function (answer) {
        asking = false;
        if (!answer.ok) {
          var code = (answer.data && answer.data.error && answer.data.error.code) || "WEB.E003";
          window.location.href = "/login?ended=" + encodeURIComponent(code);
          return;
        }
        deadline = Date.now() + answer.data.idle_seconds * 1000;
        show();
      }, function () { asking = false; });
  }
  function tick() {
    var left = Math.round((deadline - Date.now()) / 1000);
    if (left <= 0 || (left <= warn && !dialog.open)) { ask(); return; }
    if (dialog.open) { show(); }
  }
  document.getElementById("stay-signed-in").addEventListener("click", function () {
    fetch("/session/keepalive", {
      method: "POST", credentials: "same-origin", headers: { "x-csrftoken": token || "" }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) { window.location.href = "/login?ended=WEB.E002"; return; }
      deadline = Date.now() + data.idle_seconds * 1000;
      dialog.close();
    });
  });
  window.setInterval(tick, 1000);
})();
