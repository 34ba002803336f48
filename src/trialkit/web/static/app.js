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
        if (!answer.ok) {
          // Leaving: ask no more. The first answer names why the session ended; a later one
          // would only find it gone ("ended") and overwrite the reason before the page leaves.
          window.clearInterval(timer);
          var code = (answer.data && answer.data.error && answer.data.error.code) || "WEB.E003";
          window.location.href = "/login?ended=" + encodeURIComponent(code);
          return;
        }
        asking = false;
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
  var timer = window.setInterval(tick, 1000);
})();
// Data entry: Enter moves to the next field (it never submits the form); a change to a saved
// form makes its reason required.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  function fields() {
    return Array.prototype.filter.call(
      form.querySelectorAll("[data-entry]"), function (el) { return !el.disabled; });
  }
  form.addEventListener("keydown", function (evt) {
    var el = evt.target;
    if (evt.key !== "Enter" || evt.shiftKey || evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (!el.hasAttribute || !el.hasAttribute("data-entry") || el.tagName === "TEXTAREA") { return; }
    evt.preventDefault();
    var list = fields();
    var next = list[list.indexOf(el) + 1] || document.getElementById("save");
    if (next) { next.focus(); }
  });
  var reason = document.getElementById("reason");
  if (reason && form.getAttribute("data-version")) {
    var mark = function () { reason.required = true; };
    form.addEventListener("input", mark);
    form.addEventListener("change", mark);
  }
  // A stale save: "Use this value" takes the other user's value into one field.
  Array.prototype.forEach.call(form.querySelectorAll("button.take-theirs"), function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var field = document.getElementById(btn.getAttribute("data-field"));
      if (!field) { return; }
      field.value = btn.getAttribute("data-value") || "";
      field.dispatchEvent(new Event("change", { bubbles: true }));
      field.focus();
    });
  });
  var problem = document.getElementById("problem");
  var first = form.querySelector("[aria-invalid=true]");
  if (first) { first.focus(); } else if (problem) { problem.scrollIntoView(); }
})();
