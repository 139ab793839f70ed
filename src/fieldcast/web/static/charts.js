// Draws every chart of a page from its figure data (a JSON block next to it): no inline
// script, so the page's Content-Security-Policy can forbid them.
document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll("[data-figure]")) {
    const figure = JSON.parse(document.getElementById(element.dataset.figure).textContent);
    Plotly.newPlot(element, figure.data, figure.layout, {responsive: true, displaylogo: false})
      .then(() => element.setAttribute("data-drawn", "true"));
  }
});
