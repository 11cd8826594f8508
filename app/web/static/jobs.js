/* The downloads page (templates/admin/downloads.html): while a file is being made, ask the server every
   1.5 s how far it is and move its bar; once it has ended, reload the page, which then shows the file (or
   why it failed). Without this script the page reloads itself every few seconds instead. */
(function () {
  "use strict";
  var EVERY_MS = 1500;

  function show(item, job) {
    var bar = item.querySelector("[data-role=bar]");
    if (bar && job.percent !== null) bar.value = job.percent;
    var percent = item.querySelector("[data-role=percent]");
    if (percent) percent.textContent = job.percent_label;
    var left = item.querySelector("[data-role=left]");
    if (left) left.textContent = job.left_label;
    var status = item.querySelector("[data-role=status]");
    if (status) status.textContent = job.status_label;
    item.setAttribute("data-status", job.status);
  }

  function poll() {
    var items = document.querySelectorAll("[data-job-url][data-status=queued], [data-job-url][data-status=running]");
    if (!items.length) return;
    var asks = Array.prototype.map.call(items, function (item) {
      return fetch(item.getAttribute("data-job-url"), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) return false;
          show(item, job);
          return !job.pending;
        })
        .catch(function () { return false; });  // offline for a moment: ask again next time
    });
    Promise.all(asks).then(function (ended) {
      if (ended.indexOf(true) >= 0) window.location.reload();
      else window.setTimeout(poll, EVERY_MS);
    });
  }

  window.setTimeout(poll, EVERY_MS);
})();
