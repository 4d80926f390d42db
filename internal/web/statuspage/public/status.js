// The public status page's one enhancement: the promise's countdown ticks,
// and "Next update by" becomes "Update overdue since" when it runs out.
// Everything is written by the server first; without JavaScript the page
// is the same, as of its writing.
(function () {
  "use strict";
  function fmt(sec) {
    sec = Math.abs(Math.round(sec));
    if (sec < 60) return sec + "s";
    var m = Math.floor(sec / 60);
    if (m < 60) return m + "m";
    var h = Math.floor(m / 60);
    if (h < 48) return h + "h " + String(m % 60).padStart(2, "0") + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-promise]").forEach(function (el) {
      var due = Date.parse(el.dataset.promise);
      if (isNaN(due)) return;
      var left = due - now;
      el.querySelectorAll("[data-due]").forEach(function (e) { e.hidden = left < 0; });
      el.querySelectorAll("[data-overdue]").forEach(function (e) { e.hidden = left >= 0; });
      el.querySelectorAll(".countdown").forEach(function (e) {
        e.textContent = left < 0 ? "overdue by " + fmt(-left / 1000) : "due in " + fmt(left / 1000);
      });
    });
  }
  function init() { tick(); setInterval(tick, 1000); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
