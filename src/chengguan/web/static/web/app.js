/* Small page behaviours that must also hold without htmx. */
(function () {
  "use strict";
  // A plain (non-htmx) form is sent once: disable its buttons right after the browser took the submit.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.hasAttribute("hx-post") || form.dataset.allowResubmit !== undefined) return;
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
})();
