// siwei's service worker, for weak rural signal. It keeps the app shell (style sheet, scripts,
// icons) and the few pages a resident needs without signal: the balance, the card and its QR
// code, the statement and the two forms that may be kept as drafts. Each is asked of the network
// first and answered from the cache only when the network fails. Nothing else is kept: no staff
// page (/admin), no API answer, no other page naming people. Logging in or out empties the cache,
// so that the next person on the phone never sees the last one's pages.
// A claim or need form posted without signal is kept as a draft (drafts.js) and the browser is
// sent back to its page, which says what waits; app.js sends drafts when the signal returns.
importScripts("/static/drafts.js");

var SHELL = "siwei-shell-v1", PAGES = "siwei-pages-v1";
var SHELL_FILES = ["/static/app.css", "/static/app.js", "/static/drafts.js", "/static/offline.js", "/static/htmx.min.js", "/icons/192.png", "/icons/512.png", "/manifest.webmanifest"];
// The need form's page lists other people's needs too: it is not kept.
var PAGE_PATHS = ["/", "/bank", "/bank/card", "/bank/card.png", "/bank/statement", "/bank/claims/new"];

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(SHELL_FILES); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== SHELL && k !== PAGES; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  var path = url.pathname;
  if (req.method === "POST") {
    if (path === "/login" || path === "/logout") {
      e.respondWith(caches.delete(PAGES).then(function () { return fetch(req); }));
    } else if (req.mode === "navigate" && siweiDrafts.FORMS[path]) {
      e.respondWith(postOrKeep(req, path));
    }
    return;
  }
  if (req.method !== "GET") return;
  var shell = shellPath(path);
  if (shell) {
    e.respondWith(networkFirst(req, SHELL, shell));
  } else if (PAGE_PATHS.indexOf(path) >= 0) {
    e.respondWith(networkFirst(req, PAGES, path));
  }
});

// shellPath is the plain path under which a shell file is kept, or null for any other path.
// Pages link the shell by content (/static/app.3f2a9c1b7d04.js, web.Asset), so that a new version
// is fetched at once; each is kept under its plain path, the one install fetches, so that a page
// kept before a new version still finds its scripts without signal.
function shellPath(path) {
  var plain = path.replace(/^(\/static\/.+)\.[0-9a-f]{12}(\.[a-z]+)$/, "$1$2");
  return SHELL_FILES.indexOf(plain) >= 0 ? plain : null;
}

// networkFirst answers from the network and keeps a good answer under its path (queries
// dropped, so that a page with ?flash= still refreshes the copy); without network, the copy.
function networkFirst(req, cache, path) {
  return fetch(req).then(function (r) {
    if (r.ok && r.type === "basic" && !r.redirected) {
      var copy = r.clone();
      caches.open(cache).then(function (c) { return c.put(path, copy); });
    }
    return r;
  }, function (err) {
    return caches.open(cache).then(function (c) { return c.match(path); }).then(function (hit) {
      if (hit) return hit;
      throw err;
    });
  });
}

// postOrKeep posts a form; when the network fails it keeps the form as a draft of the account
// the pages were last drawn for and sends the browser back to the form's page if it is kept,
// else home, with ?draft=saved (or ?draft=refused when the photos are more or larger than a
// draft may hold).
function postOrKeep(req, path) {
  var copy = req.clone();
  return fetch(req).catch(function () {
    var form = siweiDrafts.FORMS[path].page;
    return Promise.all([copy.formData(), siweiDrafts.getWho(), caches.match(form)]).then(function (got) {
      var page = got[2] ? form : "/";
      if (!got[1]) return Response.redirect(page, 303);
      var d = siweiDrafts.fromForm(path, got[0], got[1]);
      if (d.error) return Response.redirect(page + "?draft=refused", 303);
      return siweiDrafts.save(d).then(function () { return Response.redirect(page + "?draft=saved", 303); });
    });
  });
}
