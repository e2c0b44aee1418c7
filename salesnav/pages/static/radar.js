// 雷达 page: counts the seconds the page is visible and reports them with the view's signed id —
// a heartbeat every 15 s while visible, and once more (final) when the page is hidden or closed.
// Each report carries a sequence number; the server refuses one it has already seen.
(function () {
  "use strict";
  var root = document.getElementById("radar");
  if (!root || !root.getAttribute("data-view")) { return; }  // a preview robot's copy: nothing to report
  var view = root.getAttribute("data-view");
  var url = root.getAttribute("data-beacon");
  var HEARTBEAT_MS = 15000;
  var seq = 0;
  var visibleMs = 0;
  var since = document.visibilityState === "visible" ? Date.now() : null;

  function seconds() {
    var ms = visibleMs + (since === null ? 0 : Date.now() - since);
    return Math.floor(ms / 1000);
  }

  function report(final) {
    seq += 1;
    var body = JSON.stringify({ view: view, seq: seq, seconds: seconds(), final: final });
    // keepalive: the request outlives the page (a closed tab, a locked phone), as sendBeacon's would.
    if (window.fetch) {
      fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } })
        .catch(function () { /* the next report carries the total */ });
    } else if (navigator.sendBeacon) {
      navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }));
    }
  }

  setInterval(function () {
    if (since !== null) { report(false); }
  }, HEARTBEAT_MS);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      if (since !== null) { visibleMs += Date.now() - since; since = null; }
      report(true);
    } else if (since === null) {
      since = Date.now();
    }
  });

  window.addEventListener("pagehide", function () {
    if (since !== null) { visibleMs += Date.now() - since; since = null; report(true); }
  });
})();
