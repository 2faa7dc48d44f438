// Charts of the operators' analytics page (analytics/operator.py), drawn with the
// Chart.js the merchant console vendors (a classic script: window.Chart). The figures
// are embedded by the page as JSON and shown in tables too.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-chart-data").textContent);
  const labels = data.labels;
  const COLORS = ["#0b57d0", "#146c2e", "#b3261e", "#8a4f00", "#6b3fa0", "#00696f"];
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  if (dark) {
    window.Chart.defaults.color = "#ccc";
    window.Chart.defaults.borderColor = "#444";
  }

  function draw(id, type, xLabels, datasets, options) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new window.Chart(canvas, {
      type: type,
      data: { labels: xLabels, datasets: datasets },
      options: Object.assign(
        {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: datasets.length > 1 } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
        options || {},
      ),
    });
  }

  function line(label, values, color) {
    return { label: label, data: values, borderColor: color, backgroundColor: color, pointRadius: 0 };
  }

  function bar(label, values, color) {
    return { label: label, data: values, backgroundColor: color };
  }

  if (data.days) {
    draw("activity-chart", "line", data.days, [
      line(labels.dau, data.dau, COLORS[0]),
      line(labels.wau, data.wau, COLORS[1]),
      line(labels.mau, data.mau, COLORS[2]),
    ]);
    draw(
      "new-chart",
      "bar",
      data.days,
      [bar(labels.new, data.new, COLORS[0]), bar(labels.returning, data.returning, COLORS[1])],
      { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    );
    draw("funnel-chart", "bar", labels.funnel, [bar("", data.funnel, COLORS.slice(0, 3))], {
      indexAxis: "y",
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    });
  }
  if (data.months) {
    draw("liability-chart", "bar", data.months, [
      bar(labels.issued, data.issued, COLORS[1]),
      bar(labels.redeemed, data.redeemed, COLORS[0]),
      bar(labels.expired, data.expired, COLORS[2]),
    ]);
  }
})();
