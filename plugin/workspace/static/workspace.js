// Draws the page's charts from the JSON the server put in #chart-data (no data ever travels in a URL).
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  var data = source ? JSON.parse(source.textContent) : {};
  var palette = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#64748b", "#d946ef"];
  var base = { color: palette, animation: false };

  function stacked(months, groups) {
    return Object.assign({}, base, {
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 40, bottom: 30 },
      xAxis: { type: "category", data: months },
      yAxis: { type: "value", minInterval: 1 },
      series: Object.keys(groups).map(function (name) {
        return { name: name, type: "bar", stack: "all", data: groups[name], barMaxWidth: 36 };
      }),
    });
  }

  var builders = {
    rules: function () {
      return Object.assign({}, base, {
        tooltip: { trigger: "axis" },
        grid: { left: 200, right: 30, top: 10, bottom: 20 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: data.rules.slice().reverse() },
        series: [{ type: "bar", data: data.counts.slice().reverse(), barMaxWidth: 18, label: { show: true, position: "right" } }],
      });
    },
    byFamily: function () { return stacked(data.months, data.byFamily); },
    byPayer: function () { return stacked(data.months, data.byPayer); },
    outcomes: function () {
      return Object.assign({}, base, {
        color: ["#10b981", "#ef4444"],
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 200, right: 30, top: 36, bottom: 20 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: data.rules.slice().reverse() },
        series: [
          { name: "Accepted", type: "bar", stack: "all", data: data.accepted.slice().reverse(), barMaxWidth: 18 },
          { name: "Overridden", type: "bar", stack: "all", data: data.overridden.slice().reverse(), barMaxWidth: 18 },
        ],
      });
    },
    timeline: function () { return data.timeline; },
  };

  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var build = builders[element.getAttribute("data-chart")];
    if (!build) { return; }
    var chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(build());
    window.addEventListener("resize", function () { chart.resize(); });
  });
  document.body.setAttribute("data-charts", "drawn");
})();
