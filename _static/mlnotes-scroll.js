// Formulas wider than the column scroll in their own box (mlnotes.css); a box that
// scrolls gets a tab stop so that keyboard users can scroll it too (WCAG 2.1.1, axe's
// scrollable-region-focusable), as the theme already does for code blocks.
(function () {
  "use strict";
  function tabStops() {
    var boxes = "article div.math, article span.math, article mjx-container[display='true']";
    document.querySelectorAll(boxes).forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  function start() {
    tabStops();
    window.addEventListener("resize", tabStops);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
