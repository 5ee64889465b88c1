// The job page's loss curve: one line per stage, fed by the job's loss points endpoint.
// While the job is queued or running it asks every 2 s for the points after the last
// one it has (?after_id=), so a long job never re-downloads its history.
(function () {
  "use strict";
  const POLL_MS = 2000;

  function start() {
    const chart = document.getElementById("loss-chart");
    if (!chart || !window.Plotly) return;
    const traces = new Map(); // stage index -> trace index in the plot
    let afterId = 0;
    let drawn = false;

    function draw(stages, points) {
      const byStage = new Map();
      for (const p of points) {
        if (!byStage.has(p.stage_index)) byStage.set(p.stage_index, { x: [], y: [] });
        byStage.get(p.stage_index).x.push(p.step);
        byStage.get(p.stage_index).y.push(p.loss);
      }
      if (!drawn) {
        Plotly.newPlot(chart, [], {
          margin: { t: 10, r: 10, b: 40, l: 50 },
          xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss" } },
        }, { displaylogo: false, responsive: true });
        drawn = true;
      }
      for (const [stage, xy] of byStage) {
        if (!traces.has(stage)) {
          Plotly.addTraces(chart, { x: xy.x, y: xy.y, mode: "lines+markers", name: stages[stage] || `stage ${stage + 1}` });
          traces.set(stage, traces.size);
        } else {
          Plotly.extendTraces(chart, { x: [xy.x], y: [xy.y] }, [traces.get(stage)]);
        }
      }
    }

    async function poll() {
      let active = false;
      try {
        const response = await fetch(`${chart.dataset.url}?after_id=${afterId}`, { credentials: "same-origin" });
        if (response.ok) {
          const body = await response.json();
          if (body.points.length) afterId = body.points[body.points.length - 1].id;
          if (body.points.length || !drawn) draw(body.stages, body.points);
          active = body.active;
        }
      } catch (error) {
        active = true; // the network dropped: try again
      }
      if (active) setTimeout(poll, POLL_MS);
    }
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
