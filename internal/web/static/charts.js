// siwei's charts: an element marked data-chart="bar" or "line" draws the table named by its
// data-table with the vendored ECharts, so that the chart and its table (for a screen reader and a
// printout) carry the same numbers. The table's first column names the categories; every other
// header cell not marked data-skip is a series, read from its cells' data-v; data-col="2" draws
// only that column. An element marked
// data-refresh="60" reloads the page after that many seconds (the big screen); data-theme="dark"
// draws on a dark ground.
(function () {
  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var table = document.getElementById(el.getAttribute("data-table"));
      if (!table) return;
      var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
      var cols = [];
      var only = el.getAttribute("data-col");
      heads.forEach(function (th, i) {
        if (i > 0 && !th.hasAttribute("data-skip") && (only === null || Number(only) === i)) cols.push({ i: i, name: th.textContent.trim() });
      });
      var cats = [], series = cols.map(function (c) { return { name: c.name, type: el.getAttribute("data-chart"), data: [] }; });
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var cells = tr.children;
        cats.push(cells[0].textContent.trim());
        cols.forEach(function (c, k) {
          var v = cells[c.i] && cells[c.i].getAttribute("data-v");
          series[k].data.push(v === null || v === "" ? 0 : Number(v));
        });
      });
      var dark = !!el.closest("[data-theme=dark]");
      var big = dark ? 20 : 13;
      var chart = echarts.init(el, dark ? "dark" : null, { renderer: "canvas" });
      chart.setOption({
        backgroundColor: "transparent",
        color: ["#c62828", "#f9a825", "#1565c0", "#2e7d32", "#6a1b9a"],
        tooltip: { trigger: "axis" },
        legend: { show: series.length > 1, textStyle: { fontSize: big } },
        grid: { left: 8, right: 16, top: series.length > 1 ? 40 : 16, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: cats, axisLabel: { fontSize: big, interval: 0, rotate: cats.length > 8 ? 40 : 0 } },
        yAxis: { type: "value", axisLabel: { fontSize: big } },
        series: series
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  function start() {
    draw();
    var r = document.querySelector("[data-refresh]");
    if (r) setTimeout(function () { location.reload(); }, Number(r.getAttribute("data-refresh")) * 1000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
