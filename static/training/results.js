// The results page's loss chart: every training job's loss per stage, from the JSON the page
// embeds (evaluation/results.py loss_curves), plus PNG/SVG export of the chart.
// #loss-chart[data-state] becomes "drawn" or "empty" so tests and users know it finished.
(function () {
  "use strict";

  function start() {
    const chart = document.getElementById("loss-chart");
    const data = document.getElementById("loss-data");
    if (!chart || !data || !window.Plotly) return;
    const traces = JSON.parse(data.textContent);
    const layout = {
      xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss" } },
      margin: { t: 20, r: 10, b: 40, l: 50 }, legend: { orientation: "h", y: -0.2 },
    };
    if (!traces.length) {
      layout.annotations = [{ text: "No loss points yet: the models here have no training job behind them.",
                              showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }];
    }
    // toImageButtonOptions: the modebar camera saves SVG; the buttons below offer PNG or SVG.
    Plotly.newPlot(chart, traces, layout, {
      responsive: true, displaylogo: false, toImageButtonOptions: { format: "svg", filename: "loss-curves" },
    }).then(() => { chart.dataset.state = traces.length ? "drawn" : "empty"; });
    document.querySelectorAll("button[data-download]").forEach((button) => button.addEventListener("click", () =>
      Plotly.downloadImage(chart, { format: button.dataset.download, filename: "loss-curves", width: 1000, height: 400 })));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
