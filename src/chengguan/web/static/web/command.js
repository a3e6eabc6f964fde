/* The wall's map: district, street, community and grid boundaries, and the open cases coloured by
 * status (ringed when overdue), reloaded every `data-poll` seconds (the panels poll through htmx). */
(function () {
  "use strict";
  const element = document.getElementById("wall-map");
  if (!element || !window.CgMap) return;
  const seconds = Math.max(30, parseInt(element.dataset.poll || "30", 10));
  const map = CgMap.create(element, {});
  let cases = null;

  function loadCases() {
    return CgMap.addCases(map, {status: "open"}).then(function (layer) {
      if (cases) cases.remove();
      cases = layer;
      layer.bringToFront();
      element.dataset.cases = String(layer.getLayers().length);
      element.dataset.ready = "1";
    });
  }

  CgMap.addBoundaries(map, {level: "district", fit: true})
    .then(function (layer) {
      if (!layer.getLayers().length) return CgMap.addBoundaries(map, {level: "street", fit: true});
      return CgMap.addBoundaries(map, {level: "street"});
    })
    .then(function () { return CgMap.addBoundaries(map, {level: "community"}); })
    .then(function () { return CgMap.addBoundaries(map, {level: "grid"}); })
    .catch(function () { /* a missing layer leaves the others */ })
    .then(loadCases);
  setInterval(function () {
    if (!document.hidden) loadCases().catch(function () {});
  }, seconds * 1000);
})();
