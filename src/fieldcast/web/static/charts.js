// Draws every chart of a page from its figure data: a JSON block named by the chart's
// data-figure, or, in a part of the page htmx swaps in (a job's answer when it is done, where
// htmx inserts no script element), its data-spec attribute. No inline script, so the page's
// Content-Security-Policy can forbid them.
function drawCharts(root) {
  for (const element of root.querySelectorAll("[data-figure]:not([data-drawing])")) {
    element.setAttribute("data-drawing", "true");
    const text = element.dataset.spec ?? document.getElementById(element.dataset.figure).textContent;
    const figure = JSON.parse(text);
    Plotly.newPlot(element, figure.data, figure.layout, {responsive: true, displaylogo: false})
      .then(() => element.setAttribute("data-drawn", "true"));
  }
}
document.addEventListener("DOMContentLoaded", () => drawCharts(document));
document.addEventListener("htmx:afterSettle", () => drawCharts(document));
