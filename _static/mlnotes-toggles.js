// The sidebar buttons in the article's header open the sidebars.  pydata-sphinx-theme 0.20.0
// (which opens the sidebar as a dialog on narrow screens) and sphinx-book-theme 1.4.0 (which
// hides it on wide ones) both wire only the first ".primary-toggle" / ".secondary-toggle"
// of the page (document.querySelector), the navigation bar's, which the book layout never
// shows; the button a reader sees, in the article's header, did nothing.  A click on any
// other such button is handed to the first one, so the themes' own code runs.
// tests/test_browser.py::test_sidebar_buttons_open_the_sidebars
(function () {
  "use strict";
  function wire() {
    [".primary-toggle", ".secondary-toggle"].forEach(function (selector) {
      var buttons = document.querySelectorAll(selector);
      for (var i = 1; i < buttons.length; i++) {
        buttons[i].addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          buttons[0].click();
        });
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
