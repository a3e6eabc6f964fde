/* Chengguan maps: one small module every page reuses (Leaflet from xstatic-leaflet, no CDN).
 *
 *   const map = CgMap.create(element, {lon, lat, zoom});   // tiles from TILE_URL, or a plain background
 *   CgMap.addBoundaries(map, {level: "street"});            // district | street | community | grid (+ community/street id)
 *   CgMap.addCases(map, {status: "open"});                  // case points from /map/cases.geojson, coloured by status
 *   CgMap.addCases(map, featureCollection);                 // or points a page already has
 *   CgMap.statusColour("handling");                         // the colour of a status (CSS variable --st-<status>)
 *   CgMap.toMap(lon, lat);                                   // a WGS-84 point as the map's L.LatLng
 *   CgMap.crs();                                             // the tiles' system: "wgs84" (default) or "gcj02"
 *
 * Data is WGS-84 everywhere (the server stores WGS-84). Tiles in GCJ-02 (Amap, Tencent: setting
 * TILE_CRS=gcj02) are drawn offset from WGS-84 by up to a few hundred metres, so every point and
 * boundary is then shifted into GCJ-02 before it is drawn; a position picked on such a map is in
 * GCJ-02 and is sent with crs=gcj02 (the server converts it back).
 *
 * Settings come from the JSON of {% map_config %} (id "cg-map-config"); status colours come from
 * the CSS variables of app.css, so badges and markers share one palette. An element with
 * `data-map` and data-lon/data-lat is set up by itself as a case map (see cases/detail.html).
 */
(function () {
  "use strict";
  let cachedConfig = null;

  function config() {
    if (cachedConfig === null) {
      const node = document.getElementById("cg-map-config");
      cachedConfig = node ? JSON.parse(node.textContent) : {};
    }
    return cachedConfig;
  }

  /* WGS-84 → GCJ-02, the published formula (the same as chengguan.core.geo.wgs84_to_gcj02). */
  const GCJ_A = 6378245.0;
  const GCJ_EE = 0.00669342162296594323;
  function gcjLat(x, y) {
    let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    return r;
  }
  function gcjLon(x, y) {
    let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    return r;
  }
  function wgs84ToGcj02(lon, lat) {
    if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) return [lon, lat];
    const radLat = lat / 180 * Math.PI;
    const magic = 1 - GCJ_EE * Math.sin(radLat) * Math.sin(radLat);
    const sqrtMagic = Math.sqrt(magic);
    const dLat = gcjLat(lon - 105, lat - 35) * 180 / ((GCJ_A * (1 - GCJ_EE)) / (magic * sqrtMagic) * Math.PI);
    const dLon = gcjLon(lon - 105, lat - 35) * 180 / (GCJ_A / sqrtMagic * Math.cos(radLat) * Math.PI);
    return [lon + dLon, lat + dLat];
  }

  function crs() {
    return config().tileCrs === "gcj02" && config().tileUrl ? "gcj02" : "wgs84";
  }

  /* A WGS-84 point as a position on this map (shifted into GCJ-02 when the tiles are). */
  function toMap(lon, lat) {
    const p = crs() === "gcj02" ? wgs84ToGcj02(lon, lat) : [lon, lat];
    return L.latLng(p[1], p[0]);
  }

  function coordsToLatLng(coords) {
    return toMap(coords[0], coords[1]);
  }

  function statusColour(status) {
    const value = getComputedStyle(document.documentElement).getPropertyValue("--st-" + status).trim();
    return value || "#555";
  }

  const LEVEL_STYLE = {
    district: {color: "#30475e", weight: 3, fill: false},
    street: {color: "#30475e", weight: 2, dashArray: "6 4", fill: true, fillOpacity: 0.03},
    community: {color: "#6b7f95", weight: 1.2, fill: false},
    grid: {color: "#9aa9b8", weight: 0.6, fill: false},
  };

  function create(element, options) {
    const opts = options || {};
    const cfg = config();
    const map = L.map(element, {zoomControl: true, attributionControl: Boolean(cfg.tileUrl), preferCanvas: true});
    if (cfg.tileUrl) {
      L.tileLayer(cfg.tileUrl, {maxZoom: 19, attribution: cfg.tileAttribution || ""}).addTo(map);
    } else {
      element.classList.add("no-tiles");
    }
    if (opts.lat !== undefined && opts.lon !== undefined) {
      map.setView(toMap(opts.lon, opts.lat), opts.zoom || 16);
    } else {
      map.setView([0, 0], 2);
    }
    return map;
  }

  function query(params) {
    const search = new URLSearchParams();
    Object.keys(params || {}).forEach(function (key) {
      if (params[key] !== undefined && params[key] !== null && params[key] !== "") search.set(key, params[key]);
    });
    return search.toString();
  }

  function fetchJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  /* Boundaries of one level; resolves to the Leaflet layer. options.fit: zoom the map to them. */
  function addBoundaries(map, options) {
    const opts = options || {};
    const level = opts.level || "street";
    const params = {level: level, community: opts.community, street: opts.street};
    return fetchJson(config().boundariesUrl + "?" + query(params)).then(function (data) {
      const layer = L.geoJSON(data, {
        style: LEVEL_STYLE[level] || LEVEL_STYLE.grid,
        coordsToLatLng: coordsToLatLng,
        interactive: level !== "grid",
        onEachFeature: function (feature, lyr) {
          const p = feature.properties || {};
          if (p.name) lyr.bindTooltip(p.name, {sticky: true});
        },
      }).addTo(map);
      if (opts.fit && data.features.length) map.fitBounds(layer.getBounds());
      return layer;
    });
  }

  function caseMarker(feature, latlng) {
    const p = feature.properties || {};
    const colour = statusColour(p.status);
    const marker = L.circleMarker(latlng, {
      radius: 8,
      color: p.overdue ? statusColour("overdue") : "#fff",
      weight: p.overdue ? 3 : 2,
      fillColor: colour,
      fillOpacity: 0.95,
    });
    const cfg = config();
    const label = (cfg.statuses && cfg.statuses[p.status]) || p.status || "";
    const link = cfg.caseUrl && p.id ? cfg.caseUrl.replace("{id}", p.id) : null;
    const text = document.createElement("span");
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.textContent = p.number || "";
      text.appendChild(a);
    } else {
      text.textContent = p.number || "";
    }
    text.appendChild(document.createTextNode(" · " + label + (p.overdue ? " · " + (cfg.overdueLabel || "") : "")));
    marker.bindPopup(text);
    return marker;
  }

  /* Case points: a FeatureCollection, or filter params for /map/cases.geojson. Resolves to the layer. */
  function addCases(map, source) {
    const draw = function (data) {
      return L.geoJSON(data, {pointToLayer: caseMarker, coordsToLatLng: coordsToLatLng}).addTo(map);
    };
    if (source && source.type === "FeatureCollection") return Promise.resolve(draw(source));
    return fetchJson(config().casesUrl + "?" + query(source || {})).then(draw);
  }

  function initCaseMap(element) {
    const d = element.dataset;
    const lon = parseFloat(d.lon);
    const lat = parseFloat(d.lat);
    const map = create(element, {lon: lon, lat: lat, zoom: 16});
    const boundaries = [
      addBoundaries(map, {level: "street"}),
      addBoundaries(map, {level: "community"}),
    ];
    if (d.community) boundaries.push(addBoundaries(map, {level: "grid", community: d.community}));
    const point = {
      type: "FeatureCollection",
      features: [{
        type: "Feature",
        geometry: {type: "Point", coordinates: [lon, lat]},
        properties: {number: d.number, status: d.status, overdue: d.overdue === "1"},
      }],
    };
    Promise.allSettled(boundaries).then(function () {
      addCases(map, point).then(function (layer) {
        layer.bringToFront();
        element.dataset.ready = "1";
      });
    });
    return map;
  }

  window.CgMap = {
    config: config, create: create, addBoundaries: addBoundaries, addCases: addCases, statusColour: statusColour,
    toMap: toMap, crs: crs, wgs84ToGcj02: wgs84ToGcj02,
  };

  document.querySelectorAll("[data-map][data-lon][data-lat]").forEach(function (element) {
    element.cgMap = initCaseMap(element);
  });
})();
