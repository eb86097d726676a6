// siwei's only script of its own: buttons marked data-print print the page, and a refused form
// shows its messages. Inline handlers are not allowed by the Content-Security-Policy.
document.addEventListener("click", function (e) {
  var b = e.target.closest && e.target.closest("[data-print]");
  if (b) { e.preventDefault(); window.print(); }
});

// A refused form (422, 409…) comes back as its page with the messages, and htmx drops 4xx
// answers by default: show it as a plain form post would, and keep the address bar on the page
// the form was on, since the form's action may answer POST only.
document.addEventListener("htmx:beforeSwap", function (e) {
  var d = e.detail;
  if (d.boosted && d.xhr.status >= 400 && d.xhr.status < 500) { d.shouldSwap = true; d.isError = false; }
});
document.addEventListener("htmx:beforeHistoryUpdate", function (e) {
  var d = e.detail;
  if (d.xhr && d.xhr.status >= 400) { d.history.type = "replace"; d.history.path = location.pathname + location.search; }
});

// An image marked data-refresh="N" is fetched again every N seconds: a lesson's QR code, which
// rotates so that a photo of it sent home does not check anyone in.
document.querySelectorAll("img[data-refresh]").forEach(function (img) {
  var every = parseInt(img.getAttribute("data-refresh"), 10) * 1000, base = img.getAttribute("src").split("?")[0];
  if (every > 0) setInterval(function () { img.src = base + "?n=" + Date.now(); }, every);
});
