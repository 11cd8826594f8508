/* Small helpers for every page: live countdowns to deadlines, confirmation of destructive buttons, and the
   body picker's search as one types (the picker works without this script: its "Cari" button searches). */
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


  /* The body picker (templates/_bodies.html): matches appear as one types, fetched from the page itself
     with the search in its address; a ticked match joins the chosen bodies and stays there. */
  function initPicker(picker, index) {
    var form = picker.closest("form");
    var results = picker.querySelector("[data-picker-results]");
    var chosen = picker.querySelector("[data-picker-chosen]");
    var inputs = picker.querySelectorAll("[data-picker-input]");
    var timer = null;
    var asked = 0;

    function chosenValues() {
      var values = {};
      chosen.querySelectorAll("input[type=checkbox]").forEach(function (box) { values[box.value] = true; });
      return values;
    }

    function refreshCount() {
      var count = picker.querySelector("[data-picker-count]");
      if (count) count.textContent = String(chosen.querySelectorAll("input[type=checkbox]:checked").length);
      var empty = picker.querySelector("[data-picker-empty]");
      if (empty) empty.hidden = chosen.children.length > 0;
    }

    function dropChosen() {
      var values = chosenValues();
      results.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (values[box.value]) box.closest("li").remove();
      });
    }

    function search() {
      var params = new URLSearchParams();
      inputs.forEach(function (input) { params.set(input.name, input.value); });
      var mine = ++asked;
      results.setAttribute("aria-busy", "true");
      fetch(window.location.pathname + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "Accept": "text/html" }
      })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          if (mine !== asked) return;
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.querySelectorAll("[data-picker]")[index];
          var found = fresh && fresh.querySelector("[data-picker-results]");
          if (found) {
            results.innerHTML = found.innerHTML;
            dropChosen();
          }
        })
        .catch(function () {
          if (mine === asked) results.innerHTML = '<p class="field-error">Pencarian gagal. Tekan tombol Cari untuk mencoba lagi.</p>';
        })
        .then(function () { if (mine === asked) results.removeAttribute("aria-busy"); });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    }

    inputs.forEach(function (input) {
      input.addEventListener(input.tagName === "SELECT" ? "change" : "input", later);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          clearTimeout(timer);
          search();
        }
      });
    });

    results.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.matches || !box.matches("input[type=checkbox]") || !box.checked) return;
      chosen.appendChild(box.closest("li"));
      var selects = (picker.getAttribute("data-picker-selects") || "").split(":");
      if (form && selects.length === 2) {
        form.querySelectorAll("input[type=radio]").forEach(function (radio) {
          if (radio.name === selects[0] && radio.value === selects[1]) radio.checked = true;
        });
      }
      refreshCount();
    });
    chosen.addEventListener("change", refreshCount);
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
    document.querySelectorAll("[data-picker]").forEach(initPicker);
  });
})();
