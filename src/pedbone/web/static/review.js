// Screening page keyboard shortcuts (no inline script: the CSP forbids it).
// I include, E exclude, M maybe, U undo, J next, K previous. Ignored while typing in a field.
(function () {
  "use strict";
  var keys = { i: "btn-include", e: "btn-exclude", m: "btn-maybe", u: "btn-undo", j: "next", k: "prev" };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) { return; }
    var id = keys[event.key.toLowerCase()];
    if (!id) { return; }
    var element = document.getElementById(id);
    if (!element) { return; }
    event.preventDefault();
    element.click();
  });
})();
