// sitrep web UI: small enhancements over pages that work without JavaScript.
// - countdowns to the next promised update tick and change colour, and
//   the overdue banner (and the status page's "overdue since") appears
//   when the promise runs out;
// - the browser's time zone is told to the server (rememberZone), which
//   writes every time in the viewer's zone when their directory entry
//   names none;
// - drafts of forms marked data-draft are kept in localStorage, so an
//   expired session or a closed tab does not lose an update being written;
// - the update being composed is previewed as each group will receive it;
// - send buttons are disabled once pressed (the server also ignores a second
//   send of the same form: it carries an idempotency key).
(function () {
  "use strict";

  function fmt(sec) {
    sec = Math.abs(Math.round(sec));
    if (sec < 60) return sec + "s";
    var m = Math.floor(sec / 60);
    if (m < 60) return m + "m " + String(sec % 60).padStart(2, "0") + "s";
    var h = Math.floor(m / 60);
    if (h < 48) return h + "h " + String(m % 60).padStart(2, "0") + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.dataset.deadline);
      if (isNaN(deadline)) return;
      var soon = parseInt(el.dataset.soon || "600", 10) * 1000;
      var left = deadline - now;
      var status = left < 0 ? "overdue" : left <= soon ? "due_soon" : "on_time";
      el.classList.remove("on_time", "due_soon", "overdue");
      el.classList.add(status);
      el.textContent = left < 0 ? "overdue by " + fmt(left / 1000) : "due in " + fmt(left / 1000);
      // The page's overdue banner (its holding update) appears when the
      // promise runs out while the page is open.
      var banner = document.querySelector("[data-overdue-banner]");
      if (banner && left < 0) banner.hidden = false;
    });
    // The status page says a promise in words: "Next update by 15:30"
    // becomes "Update overdue since 15:30" when it runs out.
    document.querySelectorAll("[data-promise]").forEach(function (el) {
      var over = Date.parse(el.dataset.promise) < now;
      el.querySelectorAll("[data-due]").forEach(function (e) { e.hidden = over; });
      el.querySelectorAll("[data-overdue]").forEach(function (e) { e.hidden = !over; });
    });
  }

  // rememberZone keeps the browser's zone in the sitrep_zone cookie: the
  // server writes every time of a page in the viewer's language and zone
  // (their directory entry's, else this one), labelled, with UTC beside
  // it. The sign-in page sets it, so the first page after it is right.
  function rememberZone() {
    var tz;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!tz || !/^[A-Za-z0-9_+\-\/]+$/.test(tz)) return;
    if (document.cookie.split("; ").indexOf("sitrep_zone=" + tz) >= 0) return;
    document.cookie = "sitrep_zone=" + tz + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  function draftKey(form) { return "sitrep:draft:" + form.dataset.draft; }

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text"));
    });
  }

  function drafts() {
    var clear = document.querySelector("[data-clear-draft]");
    if (clear) localStorage.removeItem("sitrep:draft:" + clear.dataset.clearDraft);
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      var saved = {};
      try { saved = JSON.parse(localStorage.getItem(draftKey(form)) || "{}"); } catch (e) { saved = {}; }
      var restored = false;
      draftFields(form).forEach(function (el) {
        if (!el.value && saved[el.name]) { el.value = saved[el.name]; restored = true; }
      });
      if (restored) {
        var note = form.querySelector(".draft-note");
        if (note) note.hidden = false;
      }
      form.addEventListener("input", function () {
        var v = {};
        draftFields(form).forEach(function (el) { if (el.value) v[el.name] = el.value; });
        localStorage.setItem(draftKey(form), JSON.stringify(v));
      });
    });
  }

  // livePreview posts a form as the user types and shows the answer: the
  // update's copy per group, or the summary's lint findings and preview.
  function preview() {
    document.querySelectorAll("form[data-preview-url]").forEach(function (form) {
      var out = document.getElementById(form.dataset.previewTarget || "preview");
      if (!out) return;
      var timer = null, seq = 0;
      function run() {
        var mine = ++seq;
        var body = new URLSearchParams(new FormData(form));
        fetch(form.dataset.previewUrl, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "X-Requested-With": "fetch", "X-CSRF-Token": form.elements.csrf.value }
        }).then(function (resp) {
          return resp.text().then(function (text) {
            if (mine !== seq) return;
            if (resp.ok) { out.innerHTML = text; return; }
            out.textContent = "";
            var p = document.createElement("p");
            p.className = "error";
            p.textContent = text;
            out.appendChild(p);
            var login = resp.headers.get("X-Sitrep-Login");
            if (login) {
              var a = document.createElement("a");
              a.href = login;
              a.textContent = "Sign in again (your draft is kept)";
              p.appendChild(document.createTextNode(" "));
              p.appendChild(a);
            }
          });
        }).catch(function () {
          if (mine === seq) out.textContent = "Preview unavailable: the server cannot be reached.";
        });
      }
      function later() { clearTimeout(timer); timer = setTimeout(run, 400); }
      form.addEventListener("input", later);
      form.addEventListener("change", later);
      var text = form.querySelector("textarea");
      // The server rendered the check already (data-checked): no need to ask again.
      if (text && text.value.trim() !== "" && !out.hasAttribute("data-checked")) run();
    });
  }

  function onceButtons() {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (form.dataset.sending) { ev.preventDefault(); return; }
        var btn = ev.submitter;
        if (btn && btn.formAction && btn.formAction !== form.action) return; // a preview, not a send
        form.dataset.sending = "1";
        setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });
  }

  function zones() {
    var tz;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    document.querySelectorAll("select[data-browser-zone]").forEach(function (sel) {
      if (sel.dataset.browserZone !== "UTC" || !tz) return; // the user chose one already
      var found = Array.prototype.some.call(sel.options, function (o) { return o.value === tz; });
      if (!found) { var o = document.createElement("option"); o.value = tz; o.textContent = tz; sel.appendChild(o); }
      sel.value = tz;
    });
  }

  function init() {
    tick();
    setInterval(tick, 1000);
    rememberZone();
    drafts();
    preview();
    onceButtons();
    zones();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
