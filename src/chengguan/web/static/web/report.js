/* The report pages (inspector and public): class search, the map pin, photos, and — for the
 * inspector — drafts that survive a lost connection.
 *
 * Settings come from the JSON <script id="cg-report-config">: classesUrl, submitUrl, drafts (bool),
 * owner (the user name the drafts belong to), boundaries (level drawn on the map), texts.
 *
 * Drafts (inspector only): on submit the form is kept in IndexedDB ("cg-report-drafts"; photos as
 * ArrayBuffers) under its idempotency key, then sent with fetch(). Sent → removed. No network →
 * it stays and is listed as pending; it is sent again when the browser comes back online (the
 * `online` event), when the page is shown again, or from the "send now" button. Every send of a
 * draft carries the same Idempotency key, so the server makes one case however often it arrives,
 * and sends are queued one at a time, so a draft is never in flight twice.
 *
 * The position is kept in the map's coordinate system: a point picked on the map is sent with the
 * map's crs (CgMap.crs(): "wgs84", or "gcj02" on GCJ-02 tiles); the phone's location (always
 * WGS-84 from the browser) is sent as crs=wgs84 and only drawn shifted. The server converts.
 *
 * Without JavaScript the form is a plain form and works the same, minus search and drafts.
 */
(function () {
  "use strict";
  const configNode = document.getElementById("cg-report-config");
  if (!configNode) return;
  const cfg = JSON.parse(configNode.textContent);
  const T = cfg.texts || {};
  const form = document.getElementById("report-form");
  const statusBox = document.getElementById("report-status");

  function fmt(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (m, k) {
      return values && values[k] !== undefined ? values[k] : m;
    });
  }

  function newKey() {
    // crypto.randomUUID needs a secure context; intranet pages may be plain http.
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    return Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function say(text, kind, link) {
    if (!statusBox) return;
    statusBox.hidden = false;
    statusBox.className = "msg msg-" + (kind || "info");
    statusBox.replaceChildren(document.createTextNode(text));
    if (link) {
      const a = document.createElement("a");
      a.href = link.url;
      a.textContent = link.text;
      statusBox.append(" ", a);
    }
  }

  // --- the draft store (IndexedDB) --------------------------------------------------------------
  const Store = (function () {
    let opening = null;
    function open() {
      if (!opening) {
        opening = new Promise(function (resolve, reject) {
          const req = indexedDB.open("cg-report-drafts", 1);
          req.onupgradeneeded = function () { req.result.createObjectStore("drafts", {keyPath: "key"}); };
          req.onsuccess = function () { resolve(req.result); };
          req.onerror = function () { reject(req.error); };
        });
      }
      return opening;
    }
    function run(mode, work) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          const tx = db.transaction("drafts", mode);
          const request = work(tx.objectStore("drafts"));
          tx.oncomplete = function () { resolve(request ? request.result : undefined); };
          tx.onerror = function () { reject(tx.error); };
          tx.onabort = function () { reject(tx.error); };
        });
      });
    }
    return {
      all: function () {
        return run("readonly", function (s) { return s.getAll(); }).then(function (list) {
          return (list || []).filter(function (d) { return d.owner === cfg.owner; })
            .sort(function (a, b) { return a.savedAt - b.savedAt; });
        });
      },
      get: function (key) { return run("readonly", function (s) { return s.get(key); }); },
      put: function (draft) { return run("readwrite", function (s) { return s.put(draft); }); },
      remove: function (key) { return run("readwrite", function (s) { return s.delete(key); }); },
    };
  })();

  // --- sending, one at a time ---------------------------------------------------------------------
  let queue = Promise.resolve();
  function enqueue(work) {
    const next = queue.then(work, work);
    queue = next.catch(function () {});
    return next;
  }

  function send(draft) {
    const body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    draft.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    draft.photos.forEach(function (p) { body.append("photos", new File([p.data], p.name, {type: p.type})); });
    return fetch(cfg.submitUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "manual",
      headers: {Accept: "application/json", "X-CSRFToken": csrfToken()},
    }).then(function (r) {
      if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) return {state: "login"};
      if (r.status === 200 || r.status === 201) {
        return r.json().then(function (j) { return {state: "sent", created: r.status === 201, number: j.number, url: j.url}; });
      }
      if (r.status === 422) return r.json().then(function (j) { return {state: "invalid", errors: j.errors || {}}; });
      return {state: "retry"};
    }, function () { return {state: "offline"}; });
  }

  function errorText(errors) {
    return Object.keys(errors).map(function (k) { return errors[k].join(" "); }).join(" ");
  }

  /* Send every pending draft of this person (oldest first); stops at the first network failure. */
  function flush() {
    if (!cfg.drafts) return Promise.resolve();
    return enqueue(function () {
      return Store.all().then(function (drafts) {
        let chain = Promise.resolve(true);
        drafts.forEach(function (d) {
          chain = chain.then(function (go) {
            if (!go || d.status === "invalid") return go;
            return Store.get(d.key).then(function (still) {
              if (!still) return true;
              return send(still).then(function (r) {
                if (r.state === "sent") {
                  say(fmt(r.created ? T.sent : T.again, {number: r.number}), "success", {url: r.url, text: r.number});
                  return Store.remove(d.key).then(function () { return true; });
                }
                if (r.state === "invalid") {
                  still.status = "invalid";
                  still.error = errorText(r.errors);
                  return Store.put(still).then(function () { return true; });
                }
                if (r.state === "login") say(T.login, "warning");
                return false; // offline, login, server trouble: try again later
              });
            });
          });
        });
        return chain;
      });
    }).catch(function () {}).then(renderDrafts);
  }

  // --- the list of pending drafts ---------------------------------------------------------------
  const draftsBox = document.getElementById("drafts");
  function renderDrafts() {
    if (!cfg.drafts || !draftsBox) return Promise.resolve();
    return Store.all().then(function (drafts) {
      const list = document.getElementById("drafts-list");
      list.replaceChildren();
      drafts.forEach(function (d) {
        const li = document.createElement("li");
        li.className = "draft";
        li.dataset.key = d.key;
        li.dataset.status = d.status;
        const title = document.createElement("strong");
        title.textContent = d.label || T.untitled;
        const when = document.createElement("span");
        when.className = "muted small";
        when.textContent = " · " + new Date(d.savedAt).toLocaleString() + " · " + (d.status === "invalid" ? T.invalid : T.pending);
        li.append(title, when);
        if (d.error) {
          const err = document.createElement("p");
          err.className = "error";
          err.textContent = d.error;
          li.append(err);
        }
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link remove-draft";
        remove.textContent = T.remove;
        remove.addEventListener("click", function () { enqueue(function () { return Store.remove(d.key); }).then(renderDrafts); });
        li.append(" ", remove);
        list.append(li);
      });
      document.getElementById("drafts-count").textContent = String(drafts.length);
      draftsBox.hidden = drafts.length === 0;
    }).catch(function () {});
  }

  if (cfg.drafts && window.indexedDB) {
    window.addEventListener("online", flush);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
    const sendNow = document.getElementById("drafts-send");
    if (sendNow) sendNow.addEventListener("click", flush);
    renderDrafts().then(function () { if (navigator.onLine !== false) flush(); });
  }

  if (!form) return;

  // --- errors next to the fields ---------------------------------------------------------------------
  const formErrors = document.getElementById("form-errors");
  function clearErrors() {
    form.querySelectorAll(".js-error").forEach(function (e) { e.remove(); });
    form.querySelectorAll(".field.invalid").forEach(function (f) { f.classList.remove("invalid"); });
  }
  function showErrors(errors) {
    let first = null;
    Object.keys(errors).forEach(function (name) {
      const input = form.querySelector('[name="' + name + '"]');
      const field = input && input.closest(".field");
      const holder = field || formErrors;
      errors[name].forEach(function (message) {
        const p = document.createElement("p");
        p.className = "error js-error";
        p.setAttribute("role", "alert");
        p.textContent = message;
        holder.append(p);
      });
      if (field) field.classList.add("invalid");
      if (!first) first = holder;
    });
    if (first) first.scrollIntoView({block: "center"});
  }

  // --- class search (Chinese, pinyin, code) ------------------------------------------------------
  const select = form.elements.minor_class;
  const search = document.getElementById("class-q");
  const results = document.getElementById("class-results");
  function choose(item) {
    select.value = String(item.id);
    search.value = "";
    results.hidden = true;
    results.replaceChildren();
    const field = select.closest(".field");
    field.classList.remove("invalid");
    field.querySelectorAll(".error").forEach(function (e) { e.remove(); });
  }
  function localMatches(text) { // offline: Chinese names of the list in the page
    const t = text.toLowerCase();
    return Array.from(select.options)
      .filter(function (o) { return o.value && o.text.toLowerCase().indexOf(t) >= 0; })
      .slice(0, 30)
      .map(function (o) { return {id: o.value, name: o.text, major: o.parentElement.label || ""}; });
  }
  function showMatches(list) {
    results.replaceChildren();
    if (!list.length) {
      const li = document.createElement("li");
      li.className = "muted small";
      li.textContent = T.noClass;
      results.append(li);
    }
    list.forEach(function (item) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "class-option";
      b.dataset.id = item.id;
      b.textContent = item.name;
      const major = document.createElement("small");
      major.className = "muted";
      major.textContent = " " + (item.major || "");
      b.append(major);
      b.addEventListener("click", function () { choose(item); });
      li.append(b);
      results.append(li);
    });
    results.hidden = false;
  }
  if (search && select) {
    search.hidden = false;
    let timer = null;
    let asked = 0;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const text = search.value.trim();
        const mine = ++asked;
        if (!text) { results.hidden = true; return; }
        fetch(cfg.classesUrl + "?q=" + encodeURIComponent(text), {credentials: "same-origin", headers: {Accept: "application/json"}})
          .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
          .then(function (j) { return j.results; }, function () { return localMatches(text); })
          .then(function (list) { if (mine === asked) showMatches(list); });
      }, 200);
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        const firstOption = results.querySelector(".class-option");
        if (firstOption) firstOption.click();
      }
    });
  }

  // --- the map pin ----------------------------------------------------------------------------------
  const mapEl = document.getElementById("report-map");
  const lonInput = form.elements.lon;
  const latInput = form.elements.lat;
  const crsInput = form.elements.crs;
  const locText = document.getElementById("loc-text");
  let map = null;
  let pin = null;

  function drawPin(latlng) {
    if (!map) return;
    if (!pin) {
      pin = L.circleMarker(latlng, {radius: 10, color: "#fff", weight: 3, fillColor: "#d9480f", fillOpacity: 1}).addTo(map);
    } else {
      pin.setLatLng(latlng);
    }
  }
  function setPlace(lon, lat, crs, latlng) {
    lonInput.value = lon.toFixed(7);
    latInput.value = lat.toFixed(7);
    crsInput.value = crs;
    if (locText) locText.textContent = fmt(T.place, {lon: lon.toFixed(6), lat: lat.toFixed(6)}) + (crs !== "wgs84" ? " (" + crs.toUpperCase() + ")" : "");
    const field = lonInput.closest(".field");
    field.classList.remove("invalid");
    field.querySelectorAll(".error").forEach(function (e) { e.remove(); });
    if (map) drawPin(latlng || (crs === "wgs84" ? CgMap.toMap(lon, lat) : L.latLng(lat, lon)));
  }
  function placeFromInputs() {
    const lon = parseFloat(lonInput.value);
    const lat = parseFloat(latInput.value);
    if (isFinite(lon) && isFinite(lat)) setPlace(lon, lat, crsInput.value || "wgs84");
    return isFinite(lon) && isFinite(lat);
  }
  if (mapEl && window.CgMap && window.L) {
    map = CgMap.create(mapEl, {});
    CgMap.addBoundaries(map, {level: cfg.boundaries || "street", fit: true})
      .catch(function () {})
      .then(function () {
        if (pin) map.setView(pin.getLatLng(), 17, {animate: false});
        mapEl.dataset.ready = "1";
      });
    map.on("click", function (e) { setPlace(e.latlng.lng, e.latlng.lat, CgMap.crs(), e.latlng); });
  }
  placeFromInputs();
  [lonInput, latInput].forEach(function (input) {
    input.addEventListener("change", function () { crsInput.value = "wgs84"; placeFromInputs(); });
  });

  const locate = document.getElementById("locate-me");
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      if (locText) locText.textContent = T.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPlace(pos.coords.longitude, pos.coords.latitude, "wgs84");
        if (map && pin) map.setView(pin.getLatLng(), 17, {animate: false});
      }, function () {
        if (locText) locText.textContent = window.isSecureContext ? T.locateFailed : T.locateHttps;
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 30000});
    });
  }

  // --- photos: a preview of what will be sent ---------------------------------------------------------
  const photoInput = form.elements.photos;
  const preview = document.getElementById("photo-preview");
  function showPhotos() {
    if (!preview) return;
    preview.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    preview.replaceChildren();
    const files = Array.from(photoInput.files || []);
    if (!files.length) return;
    const count = document.createElement("p");
    count.className = "muted small";
    count.textContent = fmt(T.photos, {n: files.length});
    preview.append(count);
    files.forEach(function (f) {
      const img = document.createElement("img");
      img.alt = f.name;
      img.src = URL.createObjectURL(f);
      preview.append(img);
    });
  }
  if (photoInput) photoInput.addEventListener("change", showPhotos);

  // --- submit ---------------------------------------------------------------------------------------------
  if (!cfg.drafts || !window.indexedDB) return; // the public form is a plain form (app.js sends it once)

  const button = document.getElementById("report-submit");
  let busy = false;

  function precheck() {
    const errors = {};
    if (!select.value) errors.minor_class = [T.pickClass];
    if (!lonInput.value || !latInput.value) errors.lon = [T.pickPlace];
    if (!form.elements.description.value.trim()) errors.description = [T.describe];
    return errors;
  }

  function draftFromForm() {
    const data = new FormData(form);
    const fields = [];
    const reads = [];
    data.forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") return;
      if (value instanceof File) {
        if (value.size) reads.push(value.arrayBuffer().then(function (buf) { return {name: value.name, type: value.type, data: buf}; }));
      } else {
        fields.push([name, value]);
      }
    });
    return Promise.all(reads).then(function (photos) {
      return {
        key: form.elements.idempotency_key.value,
        owner: cfg.owner,
        savedAt: Date.now(),
        label: select.selectedIndex > 0 ? select.options[select.selectedIndex].text : "",
        fields: fields,
        photos: photos,
        status: "pending",
        error: "",
      };
    });
  }

  function resetForm() {
    form.reset();
    form.elements.idempotency_key.value = newKey();
    if (pin && map) { map.removeLayer(pin); pin = null; }
    if (locText) locText.textContent = "";
    showPhotos();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return; // a double tap: the first one is on its way
    clearErrors();
    const problems = precheck();
    if (Object.keys(problems).length) { showErrors(problems); return; }
    busy = true;
    button.disabled = true;
    say(T.sending, "info");
    draftFromForm().then(function (draft) {
      return enqueue(function () {
        return Store.put(draft).then(function () { return send(draft); }).then(function (r) {
          if (r.state === "sent") {
            say(fmt(r.created ? T.sent : T.again, {number: r.number}), "success", {url: r.url, text: r.number});
            return Store.remove(draft.key).then(resetForm);
          }
          if (r.state === "invalid") { // the form still holds it: correct and send again
            say(T.fix, "warning");
            showErrors(r.errors);
            return Store.remove(draft.key);
          }
          say(r.state === "offline" ? T.offline : r.state === "login" ? T.login : T.retry, "warning");
          resetForm(); // kept as a draft; the next report gets its own key
        });
      });
    }).catch(function () {
      say(T.retry, "warning");
    }).then(function () {
      busy = false;
      button.disabled = false;
      return renderDrafts();
    });
  });
})();
