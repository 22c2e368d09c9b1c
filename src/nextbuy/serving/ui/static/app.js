/* NextBuy dashboard: draws each element's data-spec chart (JSON from the server) with uPlot. */
(function () {
  "use strict";
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];

  function spec(el) {
    return JSON.parse(el.getAttribute("data-spec") || "null");
  }

  function draw(el) {
    var s = spec(el);
    if (!s || !s.x || s.x.length === 0) {
      el.textContent = el.getAttribute("data-empty") || "no data yet";
      return;
    }
    var bars = s.kind === "bars";
    var twoAxes = s.series.some(function (x) { return x.axis; });
    var series = [{}].concat(s.series.map(function (x, i) {
      var colour = COLOURS[i % COLOURS.length];
      var one = { label: x.label, stroke: colour, width: 2, scale: x.axis ? "y2" : "y", spanGaps: true };
      if (bars) {
        one.fill = colour + "99";
        one.paths = uPlot.paths.bars({ size: [0.85, 60] });
        one.points = { show: false };
      }
      return one;
    }));
    var axes = [{}, { scale: "y" }];
    if (twoAxes) { axes.push({ scale: "y2", side: 1, grid: { show: false } }); }
    var scales = { x: { time: !!s.time }, y: {} };
    if (twoAxes) { scales.y2 = {}; }
    var opts = {
      width: Math.max(el.clientWidth, 280),
      height: parseInt(el.getAttribute("data-height") || "200", 10),
      scales: scales, series: series, axes: axes,
    };
    el.innerHTML = "";
    new uPlot(opts, [s.x].concat(s.series.map(function (x) { return x.values; })), el);
  }

  function drawAll(root) {
    if (!root || !root.querySelectorAll) { return; }
    if (root.hasAttribute && root.hasAttribute("data-spec")) { draw(root); }
    root.querySelectorAll("[data-spec]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.detail.elt); });
})();
