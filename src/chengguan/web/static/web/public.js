/* The public case map: publicly reported cases by status from /public/cases.geojson (an allow-list of
 * fields: number, class, status, rounded position, date), on the public boundaries; no tiles needed. */
(function () {
  "use strict";
  const element = document.getElementById("public-map");
  if (!element || !window.CgMap) return;
  const texts = JSON.parse(document.getElementById("cg-public-texts").textContent);
  const cfg = CgMap.config();
  const select = document.getElementById("map-status");
  const count = document.getElementById("map-count");
  const map = CgMap.create(element, {});
  let layer = null;

  function marker(feature, latlng) {
    const p = feature.properties || {};
    const m = L.circleMarker(latlng, {radius: 7, color: "#fff", weight: 2, fillColor: CgMap.statusColour(p.status), fillOpacity: 0.95});
    const box = document.createElement("div");
    const head = document.createElement("strong");
    head.textContent = p.number;
    const body = document.createElement("div");
    body.textContent = p["class"] + " · " + ((cfg.statuses && cfg.statuses[p.status]) || p.status);
    const when = document.createElement("small");
    when.textContent = texts.reported.replace("%(date)s", p.created);
    box.append(head, body, when);
    m.bindPopup(box);
    return m;
  }

  function load() {
    const url = cfg.casesUrl + (select.value ? "?status=" + encodeURIComponent(select.value) : "");
    element.dataset.ready = "0";
    return fetch(url, {headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (layer) map.removeLayer(layer);
        layer = L.geoJSON(data, {pointToLayer: marker, coordsToLatLng: function (c) { return CgMap.toMap(c[0], c[1]); }}).addTo(map);
        count.textContent = texts.count.replace("%(n)s", data.features.length);
        element.dataset.ready = "1";
        element.dataset.count = String(data.features.length);
      })
      .catch(function () { count.textContent = texts.failed; });
  }

  CgMap.addBoundaries(map, {level: "street", fit: true}).catch(function () {}).then(load);
  select.addEventListener("change", load);
})();
