/* The desk and the department inbox: keys (j/k move, Enter opens, x ticks, / searches), the
 * selected row on the map, "tick all". Rows are <tr data-row data-url data-lon data-lat>. */
(function () {
  "use strict";
  const table = document.querySelector("[data-rows]");
  const rows = table ? Array.from(table.querySelectorAll("tr[data-row]")) : [];
  const mapElement = document.getElementById("desk-map");
  let map = null;
  let marker = null;
  let index = -1;

  function setupMap() {
    if (!mapElement || !window.CgMap) return;
    const first = rows[0];
    const opts = first ? {lon: parseFloat(first.dataset.lon), lat: parseFloat(first.dataset.lat), zoom: 15} : {};
    map = CgMap.create(mapElement, opts);
    const loads = [CgMap.addBoundaries(map, {level: "street", fit: !first}), CgMap.addBoundaries(map, {level: "community"})];
    const node = document.getElementById("desk-points");
    Promise.allSettled(loads).then(function () {
      if (node) {
        CgMap.addCases(map, JSON.parse(node.textContent)).then(function (layer) {
          layer.bringToFront();
          mapElement.dataset.ready = "1";
        });
      } else {
        mapElement.dataset.ready = "1";
      }
    });
  }

  function show(row) {
    if (!map || !row) return;
    const latlng = [parseFloat(row.dataset.lat), parseFloat(row.dataset.lon)];
    if (marker) marker.remove();
    marker = L.circleMarker(latlng, {radius: 14, color: "#ffbf47", weight: 4, fill: false}).addTo(map);
    map.setView(latlng, Math.max(map.getZoom(), 16));
    const label = document.querySelector("[data-selected-number]");
    const link = row.querySelector("a.number");
    if (label && link) label.textContent = link.textContent;
    mapElement.dataset.selected = row.dataset.caseId;
  }

  function select(i) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) {
      r.classList.toggle("is-selected", j === index);
      r.setAttribute("aria-selected", j === index ? "true" : "false");
    });
    const row = rows[index];
    row.focus({preventScroll: true});
    row.scrollIntoView({block: "nearest"});
    show(row);
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "j" || event.key === "ArrowDown") {
      select(index + 1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      select(index < 0 ? 0 : index - 1);
    } else if (event.key === "Enter" && index >= 0 && event.target.tagName !== "A" && event.target.tagName !== "BUTTON") {
      window.location.href = rows[index].dataset.url;
    } else if (event.key === "x" && index >= 0) {
      const box = rows[index].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (event.key === "/") {
      const search = document.querySelector(".filters input[type=search]");
      if (search) search.focus();
    } else {
      return;
    }
    event.preventDefault();
  });

  rows.forEach(function (row, i) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, button, input, textarea, select, label")) return;
      select(i);
    });
  });

  const all = document.querySelector("[data-check-all]");
  if (all) {
    all.addEventListener("change", function () {
      rows.forEach(function (r) {
        const box = r.querySelector("input[type=checkbox][name=case]");
        if (box) box.checked = all.checked;
      });
    });
  }

  setupMap();
  if (rows.length) select(0);
})();
