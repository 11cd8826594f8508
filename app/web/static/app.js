/* Small helpers for every page: live countdowns to deadlines and confirmation of destructive buttons. */
(function () {
  "use strict";

  function remaining(deadline) {
    var seconds = Math.floor((deadline - Date.now()) / 1000);
    if (seconds <= 0) return "sudah lewat";
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (days) return "sisa " + days + " hari " + hours + " jam";
    if (hours) return "sisa " + hours + " jam " + minutes + " menit";
    return "sisa " + Math.max(minutes, 1) + " menit";
  }

  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (!isNaN(deadline)) el.textContent = "(" + remaining(deadline) + ")";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    if (document.querySelector("[data-deadline]")) setInterval(tick, 30000);
    // A form that came back refused: take the reader to what is wrong (its summary links to each field).
    var refused = document.querySelector("[data-form-errors]");
    if (refused) refused.focus();
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  });
})();
