// Weak signal, on the page's side: registers the service worker (sw.js), keeps a claim or need
// form (form[data-draft]) filed without signal as a draft (drafts.js), sends the drafts when the
// signal returns, and says what waits. Every text comes from <main>'s data attributes, drawn from
// the catalog; pages without them (logged out, staff pages, office mode) keep no drafts.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator) || !window.indexedDB || !window.siweiDrafts) return;
  var D = window.siweiDrafts;
  navigator.serviceWorker.register("/static/sw.js", { scope: "/" }).catch(function () {});

  // The pages that say which drafts wait.
  var NOTE_PAGES = ["/", "/bank/claims/new", "/volunteer/needs", "/bank/claims"];
  var said = []; // messages of this page's moment (saved, sent…), shown above the waiting count

  function main() { return document.getElementById("main"); }
  function who() { var m = main(); return m ? m.getAttribute("data-who") : null; }
  function text(name, n) { return (main().getAttribute("data-" + name) || "").replace("{n}", String(n)); }

  // Idempotency keys already used by a draft: a form page kept by the service worker carries the
  // key it was drawn with, and two drafts from it must not share one.
  function usedKeys() { try { return JSON.parse(localStorage.getItem("siwei.keys") || "[]"); } catch (e) { return []; } }
  function useKey(k) { var ks = usedKeys().filter(function (x) { return x !== k; }); ks.push(k); localStorage.setItem("siwei.keys", JSON.stringify(ks.slice(-50))); }
  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function freshKey(form) {
    var k = form.querySelector("input[name=idempotency_key]");
    if (k && (!k.value || usedKeys().indexOf(k.value) >= 0)) k.value = newKey();
  }

  // note draws the messages and the waiting drafts at the top of the page.
  function note() {
    var w = who(), m = main();
    if (!w || NOTE_PAGES.indexOf(location.pathname) < 0) return Promise.resolve();
    return D.list(w).then(function (ds) {
      var wait = { claim: 0, need: 0 }, refused = 0;
      ds.forEach(function (d) { if (d.refused) refused++; else wait[d.kind]++; });
      var lines = said.slice();
      if (wait.claim) lines.push(text("claims-wait", wait.claim));
      if (wait.need) lines.push(text("needs-wait", wait.need));
      if (refused) lines.push(text("refused", refused));
      var box = document.getElementById("drafts-note");
      if (!lines.length) { if (box) box.remove(); return; }
      if (!box) {
        box = document.createElement("div");
        box.id = "drafts-note";
        box.className = "flash";
        box.setAttribute("role", "status");
        m.insertBefore(box, m.firstChild);
      }
      box.textContent = "";
      lines.forEach(function (l) { var p = document.createElement("p"); p.textContent = l; box.appendChild(p); });
    }).catch(function () {});
  }

  // restore puts a refused draft back into its form on the form's page, for the resident to
  // correct and send with signal; the server then says what is wrong.
  function restore(form, w) {
    return D.list(w).then(function (ds) {
      var d = ds.filter(function (x) { return x.refused && x.action === form.getAttribute("action"); })[0];
      if (!d) return;
      d.fields.forEach(function (f) {
        var el = form.elements[f[0]];
        if (el && f[0] !== "idempotency_key" && el.type !== "checkbox") el.value = f[1];
      });
      var inputs = form.querySelectorAll("input[type=file]");
      d.files.forEach(function (f, i) {
        if (!inputs[i] || !window.DataTransfer) return;
        var dt = new DataTransfer();
        dt.items.add(new File([f.file], f.filename, { type: f.file.type }));
        inputs[i].files = dt.files;
      });
      said.push(text("restored"));
      return D.remove(d.id);
    });
  }

  // sendNow sends what waits, when there is signal, and says how many went.
  var sending = false;
  function sendNow() {
    var w = who();
    if (!w || !navigator.onLine || sending) return Promise.resolve();
    sending = true;
    return D.sendAll(w).then(function (out) {
      if (out.sent) said.push(text("sent", out.sent));
    }).catch(function () {}).then(function () { sending = false; return note(); });
  }

  function start() {
    var w = who();
    said = [];
    if (!w) return;
    D.setWho(w).catch(function () {});
    var q = new URLSearchParams(location.search).get("draft");
    if (q === "saved") said.push(text("saved"));
    if (q === "refused") said.push(text("photos"));
    var form = document.querySelector("form[data-draft]");
    var ready = form ? restore(form, w).catch(function () {}) : Promise.resolve();
    if (form) freshKey(form);
    ready.then(note).then(sendNow);
  }

  // shrink gives a photo over the draft's limit a second chance: drawn again at most 1600 px on
  // its longer side as JPEG. What cannot be read stays as it is.
  function shrink(f) {
    if (!f.size || f.size <= D.MAX_BYTES || !window.createImageBitmap || !/^image\//.test(f.type)) return Promise.resolve(f);
    return createImageBitmap(f).then(function (img) {
      var s = Math.min(1, 1600 / Math.max(img.width, img.height));
      var c = document.createElement("canvas");
      c.width = Math.round(img.width * s);
      c.height = Math.round(img.height * s);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return new Promise(function (ok) { c.toBlob(ok, "image/jpeg", 0.85); });
    }).then(function (b) {
      return b ? new File([b], (f.name || "photo").replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }) : f;
    }, function () { return f; });
  }

  // keep makes a draft of a form filed without signal.
  function keep(form, w) {
    var action = form.getAttribute("action"), entries = [];
    new FormData(form).forEach(function (v, k) { entries.push([k, v]); });
    return Promise.all(entries.map(function (e) {
      return typeof e[1] === "string" ? e : shrink(e[1]).then(function (f) { return [e[0], f]; });
    })).then(function (es) {
      var data = new FormData();
      es.forEach(function (e) { if (typeof e[1] === "string") data.append(e[0], e[1]); else data.append(e[0], e[1], e[1].name); });
      var d = D.fromForm(action, data, w);
      if (d.error) { said = [text("photos")]; return note(); }
      return D.save(d).then(function () {
        form.reset();
        form.querySelector("input[name=idempotency_key]").value = newKey();
        said = [text("saved")];
        return note();
      });
    });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target, w = who();
    if (!w || !form.matches || !form.matches("form[data-draft]") || !D.FORMS[form.getAttribute("action")]) return;
    // A double click sends the same key twice, and the server answers the first claim again.
    var k = form.querySelector("input[name=idempotency_key]");
    if (k && !k.value) k.value = newKey();
    if (k) useKey(k.value);
    if (navigator.onLine) return; // sent as usual; sw.js keeps it if the network fails on the way
    e.preventDefault();
    keep(form, w).catch(function () {});
  });

  window.addEventListener("online", sendNow);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.boosted) start();
  });
})();
