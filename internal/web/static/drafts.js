// Drafts (草稿): a claim (申报) or a need (需求) written without signal, kept on the phone in
// IndexedDB with its photos until it can be sent. The page (app.js) and the service worker
// (sw.js) both use this file; it names no text shown to a person.
(function (g) {
  "use strict";
  var DB = "siwei-drafts";
  // The forms that may be kept: their action, the page they are on and where the server sends
  // the browser once one is filed.
  var FORMS = {
    "/bank/claims": { kind: "claim", page: "/bank/claims/new", done: "/bank/claims" },
    "/volunteer/needs": { kind: "need", page: "/volunteer/needs", done: "/volunteer/needs" }
  };
  // What a draft may hold: at most MAX_PHOTOS photos of at most MAX_BYTES each.
  var MAX_PHOTOS = 3, MAX_BYTES = 2 * 1024 * 1024;

  function open() {
    return new Promise(function (ok, no) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore("drafts", { keyPath: "id", autoIncrement: true });
        r.result.createObjectStore("meta");
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { no(r.error); };
    });
  }

  // run calls fn with the object store inside a transaction and answers the result of the
  // request fn returns, once the transaction is done.
  function run(store, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (ok, no) {
        var t = db.transaction(store, mode), req = fn(t.objectStore(store));
        t.oncomplete = function () { db.close(); ok(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { db.close(); no(t.error); };
      });
    });
  }

  // fromForm makes a draft of a form's entries (a FormData), or answers {error: "photos"} when
  // it holds more photos, or larger ones, than a draft may keep. Empty file inputs are dropped.
  function fromForm(action, data, who) {
    var d = { action: action, kind: FORMS[action].kind, who: who, fields: [], files: [], created: Date.now() };
    var bad = false;
    data.forEach(function (v, name) {
      if (typeof v === "string") { d.fields.push([name, v]); return; }
      if (!v.size) return;
      if (v.size > MAX_BYTES) bad = true;
      d.files.push({ name: name, file: v, filename: v.name || "photo.jpg" });
    });
    if (bad || d.files.length > MAX_PHOTOS) return { error: "photos" };
    return d;
  }

  function save(d) { return run("drafts", "readwrite", function (s) { return s.add(d); }); }
  function remove(id) { return run("drafts", "readwrite", function (s) { return s.delete(id); }); }
  function put(d) { return run("drafts", "readwrite", function (s) { return s.put(d); }); }
  function list(who) {
    return run("drafts", "readonly", function (s) { return s.getAll(); }).then(function (all) {
      return (all || []).filter(function (d) { return d.who === who; });
    });
  }
  // who is the account the pages are drawn for, written by the page for the service worker.
  function setWho(who) { return run("meta", "readwrite", function (s) { return s.put(who, "who"); }); }
  function getWho() { return run("meta", "readonly", function (s) { return s.get("who"); }); }

  // send posts one draft as its form would, with the same idempotency key, and answers "sent",
  // "refused" (the server answered it with its form's messages: sending it again will not help)
  // or "later" (no signal, a server error, or the session has ended). A draft without photos goes
  // as a plain form (the need form has no file input, and its handler reads no multipart body);
  // one with photos as multipart, as the claim form sends them.
  function send(d) {
    var body = d.files.length ? new FormData() : new URLSearchParams();
    d.fields.forEach(function (f) { body.append(f[0], f[1]); });
    d.files.forEach(function (f) { body.append(f.name, f.file, f.filename); });
    return fetch(d.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      var path = new URL(r.url).pathname;
      if (r.redirected && path === FORMS[d.action].done) return "sent";
      if (!r.redirected && r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 403 && r.status !== 429) return "refused";
      return "later";
    }, function () { return "later"; });
  }

  // sendAll sends the account's waiting drafts one by one, one sender at a time across tabs,
  // and answers how many were sent and refused.
  function sendAll(who) {
    var out = { sent: 0, refused: 0 };
    function go() {
      return list(who).then(function (ds) {
        var chain = Promise.resolve();
        ds.forEach(function (d) {
          if (d.refused) return;
          chain = chain.then(function () {
            return send(d).then(function (res) {
              if (res === "sent") { out.sent++; return remove(d.id); }
              if (res === "refused") { out.refused++; d.refused = true; return put(d); }
            });
          });
        });
        return chain.then(function () { return out; });
      });
    }
    if (g.navigator && g.navigator.locks) return g.navigator.locks.request("siwei-drafts", go);
    return go();
  }

  g.siweiDrafts = {
    FORMS: FORMS, MAX_PHOTOS: MAX_PHOTOS, MAX_BYTES: MAX_BYTES,
    fromForm: fromForm, save: save, remove: remove, list: list, sendAll: sendAll, setWho: setWho, getWho: getWho
  };
})(self);
