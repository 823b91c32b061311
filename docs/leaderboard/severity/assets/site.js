/* bench site: sorting (vendored tablesort), the metric / view switch, the row filter,
   the compare pair switch and the cell page. No network: everything is in this folder. */
(function () {
  "use strict";
  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }
  function value(id) {
    var el = document.getElementById(id);
    return el ? el.value : null;
  }

  each("table.sortable", function (t) { new Tablesort(t); });

  // metric and view switch: one pre-rendered block per (metric, view)
  function showVariant() {
    var metric = value("metric"), view = value("view");
    each(".variant", function (block) {
      block.hidden = block.dataset.metric !== metric || block.dataset.view !== view;
    });
  }
  each("#metric, #view", function (el) { el.addEventListener("change", showVariant); });
  if (document.getElementById("metric")) { showVariant(); }

  // row filter: a row stays visible while its checkbox is ticked
  function filterRows() {
    var on = {};
    each("input.row-filter", function (box) { on[box.value] = box.checked; });
    each("tr[data-row]", function (tr) { tr.hidden = on[tr.dataset.row] === false; });
  }
  each("input.row-filter", function (box) { box.addEventListener("change", filterRows); });
  each("button.filter-all", function (b) {
    b.addEventListener("click", function () {
      var tick = b.dataset.tick === "1";
      each("input.row-filter", function (box) { box.checked = tick; });
      filterRows();
    });
  });

  // compare page: one pre-rendered section per pair
  function showPair() {
    var pair = value("pair");
    each("section[data-pair]", function (s) { s.hidden = s.dataset.pair !== pair; });
  }
  if (document.getElementById("pair")) {
    document.getElementById("pair").addEventListener("change", showPair);
    showPair();
  }

  // cell page: #<table page>/<entry> names the data script and the entry in it
  var holder = document.getElementById("entry");
  if (!holder) { return; }
  function render() {
    var m = /^#([A-Za-z0-9._-]+)\/([A-Za-z0-9]+)$/.exec(window.location.hash);
    if (!m) { holder.textContent = "No cell named: open a number of a table."; return; }
    var script = document.createElement("script");
    script.src = "data/" + m[1] + ".js";
    script.onload = function () {
      var data = window.BENCH_CELLS, entry = data && data.entries[m[2]];
      if (!entry) { holder.textContent = "Unknown cell " + m[2] + " of " + m[1] + "."; return; }
      holder.innerHTML = entry.html + data.head +
        entry.cells.map(function (c) { return data.cells[c]; }).join("") + data.foot;
      document.title = entry.title + " · bench";
    };
    script.onerror = function () { holder.textContent = "No data for table " + m[1] + "."; };
    document.head.appendChild(script);
  }
  window.addEventListener("hashchange", render);
  render();
})();
