/* Draws the dashboard charts with ECharts (static file, no CDN) from the JSON each chart's section
   carries in <script type="application/json" id="chart-data-KEY"> — no inline script, so a Content
   Security Policy can forbid them. Each chart's numbers are also in the table beside it;
   clicking a bar (or slice) of a child region opens that region's dashboard. */
(function () {
  "use strict";
  var COLORS = { red: "#d62728", orange: "#ff8c1a", yellow: "#e6c229" };
  var PALETTE = ["#b22222", "#0b5cad", "#2e8b57", "#8a5a00", "#6a3d9a", "#17becf", "#7f7f7f",
    "#bcbd22", "#e377c2", "#8c564b", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];

  function baseOption(chart) {
    return {
      color: chart.series.map(function (s, i) { return COLORS[s.key] || PALETTE[i % PALETTE.length]; }),
      tooltip: { trigger: chart.kind === "pie" ? "item" : "axis", confine: true },
      legend: { type: "scroll", top: 0 },
      grid: { left: 24, right: 12, top: 36, bottom: 8, containLabel: true },
      animation: false
    };
  }

  function barOption(chart) {
    var option = baseOption(chart);
    var labels = chart.rows.map(function (r) { return r.label; });
    option.xAxis = { type: "category", data: labels, axisLabel: { interval: 0, rotate: labels.length > 4 ? 30 : 0 } };
    // "bar" stacks its series; "bars" puts them side by side (a part beside its whole, e.g. 减收户
    // beside 比较户); "ratio" draws percentages (sent as decimal text) with the threshold line.
    var ratio = chart.kind === "ratio";
    option.yAxis = ratio ? { type: "value", axisLabel: { formatter: "{value}" + (chart.unit || "") } }
      : { type: "value", minInterval: 1 };
    option.series = chart.series.map(function (s, i) {
      var series = {
        name: s.label, type: chart.kind === "line" ? "line" : "bar",
        stack: chart.kind === "bar" ? "total" : undefined,
        data: chart.rows.map(function (r) {
          var v = r.values[i];
          return v === null || v === undefined ? null : Number(v);
        })
      };
      if (ratio && i === 0 && chart.line) {
        series.markLine = { symbol: "none", silent: true, lineStyle: { color: "#d62728", type: "dashed" },
          label: { formatter: chart.line.label }, data: [{ yAxis: Number(chart.line.value) }] };
      }
      return series;
    });
    return option;
  }

  function pieOption(chart) {
    var option = baseOption(chart);
    option.series = [{
      name: chart.title, type: "pie", radius: ["35%", "65%"], top: 30,
      label: { formatter: "{b}: {c}" },
      data: chart.series.map(function (s, i) { return { name: s.label, value: chart.totals[i] }; })
    }];
    return option;
  }

  var drawn = [];

  // Draws every chart under `root` not drawn yet; its data is <script type="application/json"
  // id="chart-data-KEY"> in the same section (sections loaded later by htmx bring their own).
  function drawIn(root) {
    if (typeof window.echarts === "undefined") { return; }
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (el) {
      var holder = document.getElementById("chart-data-" + el.getAttribute("data-chart"));
      if (!holder || el.getAttribute("data-drawn")) { return; }
      var chart = JSON.parse(holder.textContent);
      var instance = window.echarts.init(el, null, { renderer: "svg" });
      instance.setOption(chart.kind === "pie" ? pieOption(chart) : barOption(chart));
      if (chart.kind !== "pie") {
        instance.on("click", function (params) {
          var row = chart.rows[params.dataIndex];
          if (row && row.href) { window.location.href = row.href; }
        });
      }
      el.setAttribute("data-drawn", "1");
      drawn.push(instance);
    });
  }

  function start() {
    drawIn(document);
    document.body.addEventListener("htmx:afterSettle", function (evt) { drawIn(document); });
    window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
