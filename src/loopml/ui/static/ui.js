// Times arrive as UTC in <time datetime>; show them in the viewer's own time zone.
document.addEventListener("DOMContentLoaded", () => {
  const format = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"});
  for (const el of document.querySelectorAll("time[datetime]")) {
    const moment = new Date(el.getAttribute("datetime"));
    if (!isNaN(moment)) { el.title = el.textContent; el.textContent = format.format(moment); }
  }
  // "Select all" boxes of a cohort form tick or untick every box of their form.
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    all.addEventListener("change", () => {
      for (const box of all.form.querySelectorAll("input[name=approval]")) box.checked = all.checked;
    });
  }
});

// Charts: data sits in <script type="application/json">; colours follow the page's theme.
window.addEventListener("load", () => {
  if (!window.Plotly) return;
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const layout = (extra) => Object.assign({
    paper_bgcolor: v("--panel"), plot_bgcolor: v("--bg"), font: {color: v("--fg")},
    margin: {l: 50, r: 20, t: 30, b: 60}, legend: {orientation: "h", y: -0.25},
    xaxis: {gridcolor: v("--line")}, yaxis: {gridcolor: v("--line")},
  }, extra);
  const config = {displaylogo: false, responsive: true};
  // Plotly draws a time's own clock and ignores its offset: hand it the viewer's wall clock,
  // as the page's other times show.
  const local = (iso) => {
    const moment = new Date(iso);
    return new Date(moment.getTime() - moment.getTimezoneOffset() * 60000).toISOString().slice(0, 23);
  };
  for (const el of document.querySelectorAll("[data-chart=series]")) {
    const d = JSON.parse(document.getElementById(el.id + "-data").textContent);
    d.times = d.times.map(local);
    for (const m of d.versions) m.time = local(m.time);
    const traces = [{x: d.times, y: d.values, mode: "lines+markers", name: d.name || "value", line: {color: v("--accent")}}];
    const shapes = [], notes = [];
    if (d.threshold !== null) {
      traces.push({x: [d.times[0], d.times[d.times.length - 1]], y: [d.threshold, d.threshold], mode: "lines",
                   name: "threshold", line: {color: v("--bad"), dash: "dash"}});
    }
    for (const m of d.versions) {
      shapes.push({type: "line", xref: "x", yref: "paper", x0: m.time, x1: m.time, y0: 0, y1: 1, line: {color: v("--muted"), dash: "dot"}});
      notes.push({x: m.time, yref: "paper", y: 1, text: m.label, showarrow: false, yanchor: "bottom", font: {size: 11}});
    }
    Plotly.newPlot(el, traces, layout({shapes, annotations: notes}), config);
  }
  for (const el of document.querySelectorAll("[data-chart=bars]")) {
    const d = JSON.parse(document.getElementById(el.dataset.source).textContent);
    Plotly.newPlot(el, [
      {x: d.labels, y: d.reference, type: "bar", name: "training data", marker: {color: v("--muted")}},
      {x: d.labels, y: d.current, type: "bar", name: "now", marker: {color: v("--accent")}},
    ], layout({title: {text: d.column, font: {size: 14}}, barmode: "group", yaxis: {tickformat: ".0%", gridcolor: v("--line")}}), config);
  }
});
