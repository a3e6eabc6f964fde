/* A grid's page: its boundary (from the page), the community around it, its open cases. */
(function () {
  "use strict";
  const element = document.getElementById("grid-map");
  if (!element || !window.CgMap) return;
  const feature = JSON.parse(document.getElementById("grid-feature").textContent);
  const points = JSON.parse(document.getElementById("grid-points").textContent);
  const map = CgMap.create(element, {});
  const outline = L.geoJSON(feature, {style: {color: "#1f5f8b", weight: 3, fillOpacity: 0.08}}).addTo(map);
  map.fitBounds(outline.getBounds(), {padding: [20, 20]});
  CgMap.addBoundaries(map, {level: "community"})
    .catch(function () {})
    .then(function () { return CgMap.addCases(map, points); })
    .then(function (layer) {
      layer.bringToFront();
      element.dataset.ready = "1";
    });
})();
