/* The SAQ form: conditional questions, autosave with a visible state, offline retry, conflict merge,
   evidence uploads and the live score panel. Plain JavaScript, no build step, no third-party code.

   Autosave protocol: changed answers wait in `pending` (and in localStorage, so a closed tab or a lost
   connection loses nothing); a debounced POST sends them with the version the page is based on. 200 gives
   the new version and the live panel; 412 means another tab or device saved first: the page says so and
   offers to load the latest data and merge, keeping every answer typed here. */
(function () {
  "use strict";

  var form = document.getElementById("saq-form");
  if (!form) return;

  var submissionId = form.getAttribute("data-submission");
  var editable = form.getAttribute("data-editable") === "true";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var stateEl = document.getElementById("save-state");
  var conflictEl = document.getElementById("conflict");
  var storageKey = "emonev:saq:" + submissionId;
  var base = "/web/pengisian/" + submissionId;

  var version = parseInt(form.getAttribute("data-version"), 10);
  /* An upload or a removal moves the submission's version on by one. The page takes the new version only
     when the change followed its own version directly (or once it gets there): otherwise another tab saved
     in between, and the next save must still meet that conflict. */
  var successors = {};
  var pending = {};
  var invalid = {};
  var inflight = false;
  var again = false;
  var timer = null;
  var retryTimer = null;
  var retryDelay = 0;
  var conflict = false;
  var halted = false;

  var questions = {};
  var order = [];
  form.querySelectorAll(".question").forEach(function (el) {
    var code = el.getAttribute("data-code");
    questions[code] = el;
    order.push(code);
  });
  var codesLongestFirst = order.slice().sort(function (a, b) { return b.length - a.length; });

  function inputsOf(code, prefix) {
    return questions[code].querySelectorAll('[name="' + prefix + ":" + code.replace(/["\\]/g, "\\$&") + '"]');
  }

  function part(code, role) {
    return questions[code].querySelector('[data-role="' + role + '"]');
  }

  /* --- Reading and writing the inputs of one question ------------------------------------------------ */

  function chosenOf(code) {
    var out = [];
    inputsOf(code, "value").forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && input.checked) out.push(input.value);
    });
    return out;
  }

  var FIELDS = { value: "value", links: "evidence", note: "note" };

  function fieldOf(target) {
    var name = target.getAttribute("name") || "";
    var prefix = name.split(":")[0];
    return FIELDS[prefix] || null;
  }

  function collectField(code, field) {
    if (field === "value") {
      var type = questions[code].getAttribute("data-type");
      if (type === "multi_choice") {
        var chosen = chosenOf(code);
        return chosen.length ? chosen : null;
      }
      if (type === "yes_no" || type === "choice") return chosenOf(code)[0] || null;
      var input = inputsOf(code, "value")[0];
      var text = input ? input.value.trim() : "";
      if (type === "number") text = text.replace(",", ".");
      return text === "" ? null : text;
    }
    if (field === "evidence") {
      var links = inputsOf(code, "links")[0];
      return links ? links.value.split(/\r?\n/).map(function (s) { return s.trim(); })
        .filter(function (s) { return s !== ""; }) : [];
    }
    var note = inputsOf(code, "note")[0];
    return note && note.value.trim() !== "" ? note.value : null;
  }

  /* Put an answer into the inputs; fields named in `keep` (typed here, not yet saved) stay as they are. */
  function fill(code, answer, keep) {
    answer = answer || { value: null, evidence: [], note: null };
    keep = keep || {};
    if (!("value" in keep)) {
      var value = answer.value;
      var values = value === null || value === undefined ? [] : (Array.isArray(value) ? value.map(String) : [String(value)]);
      inputsOf(code, "value").forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") {
          input.checked = values.indexOf(input.value) !== -1;
        } else {
          input.value = values.length ? values[0] : "";
        }
      });
    }
    var links = inputsOf(code, "links")[0];
    if (links && !("evidence" in keep)) links.value = (answer.evidence || []).join("\n");
    var note = inputsOf(code, "note")[0];
    if (note && !("note" in keep)) note.value = answer.note || "";
    if (answer.files) renderFiles(code, answer.files);
  }

  /* --- Conditional questions -------------------------------------------------------------------------- */

  function applyConditions() {
    var applicable = {};
    order.forEach(function (code) {
      var el = questions[code];
      var when = el.getAttribute("data-when");
      var show = true;
      if (when) {
        var rule = JSON.parse(when);
        var target = rule.question;
        var chosen = questions[target] ? chosenOf(target) : [];
        show = applicable[target] !== false && chosen.some(function (v) { return rule.equals.indexOf(v) !== -1; });
      }
      applicable[code] = show;
      el.hidden = !show;
    });
  }

  /* --- Required evidence follows the answer -------------------------------------------------------------
     A question whose evidence is required needs it only for an answer that earns something (a "Ya", an
     option or a number band worth more than 0): the box says "wajib" then; for an answer that earns
     nothing (a "Tidak") the box is not needed and, when it holds no link or file, it is hidden. */

  function evidenceState(code) {
    var box = part(code, "evidence");
    if (!box || !box.hasAttribute("data-evidence-for")) return null;
    var rule = JSON.parse(box.getAttribute("data-evidence-for"));
    if (questions[code].getAttribute("data-type") === "number") {
      var text = collectField(code, "value");
      var number = text === null ? NaN : Number(text);
      if (text === null || !isFinite(number)) return "open";
      for (var i = 0; i < rule.bands.length; i++) {
        if (number >= Number(rule.bands[i][0])) return rule.bands[i][1] ? "needed" : "not_needed";
      }
      return "not_needed";
    }
    var chosen = chosenOf(code);
    if (!chosen.length) return "open";
    return chosen.some(function (v) { return rule.values.indexOf(v) !== -1; }) ? "needed" : "not_needed";
  }

  function applyEvidence(code) {
    var state = evidenceState(code);
    if (!state) return;
    var box = part(code, "evidence");
    var heading = part(code, "evidence-heading");
    var links = inputsOf(code, "links")[0];
    var empty = (!links || links.value.trim() === "") && !currentFiles(code).length;
    box.setAttribute("data-evidence-state", state);
    box.hidden = state === "not_needed" && empty;
    if (heading) heading.textContent = heading.getAttribute("data-text-" + state.replace("_", "-"));
  }

  /* --- The save state --------------------------------------------------------------------------------- */

  var STATES = {
    saved: "Tersimpan",
    pending: "Ada perubahan yang belum disimpan…",
    saving: "Menyimpan…",
    error: "Gagal menyimpan",
    conflict: "Belum disimpan: lihat pesan bentrok data"
  };

  function setState(state, detail) {
    if (!stateEl) return;
    stateEl.setAttribute("data-state", state);
    stateEl.textContent = STATES[state] + (detail ? ". " + detail : "");
  }

  function persist() {
    try {
      if (Object.keys(pending).length || Object.keys(invalid).length) {
        localStorage.setItem(storageKey, JSON.stringify({ version: version, pending: pending, invalid: invalid }));
      } else {
        localStorage.removeItem(storageKey);
      }
    } catch (e) { /* storage full or disabled: the answers still wait in memory */ }
  }

  function showError(code, message) {
    var el = part(code, "error");
    if (!el) return;
    el.textContent = message || "";
    el.hidden = !message;
  }

  /* --- Saving ----------------------------------------------------------------------------------------- */

  function changed(code, field) {
    if (!editable || !field) return;
    pending[code] = Object.assign({}, invalid[code] || {}, pending[code] || {});
    pending[code][field] = collectField(code, field);
    if (invalid[code]) { delete invalid[code]; showError(code, ""); }
    persist();
    if (!conflict) setState("pending");
    schedule(700);
  }

  function schedule(delay) {
    if (halted || conflict) return;
    clearTimeout(timer);
    timer = setTimeout(save, delay);
  }

  function retryLater(message) {
    retryDelay = retryDelay ? Math.min(retryDelay * 2, 30000) : 2000;
    setState("error", message + " Perubahan Anda aman di perangkat ini dan akan dikirim ulang otomatis.");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(save, retryDelay);
  }

  function codeOfField(field) {
    var path = String(field || "").replace(/^answers\./, "");
    for (var i = 0; i < codesLongestFirst.length; i++) {
      var code = codesLongestFirst[i];
      if (path === code || path.indexOf(code + ".") === 0) return code;
    }
    return null;
  }

  function fieldMessage(field, message) {
    if (/evidence/.test(field)) return "Tautan data dukung harus berupa alamat http:// atau https:// yang lengkap.";
    if (/\.value$/.test(field)) return "Jawaban ini tidak sesuai (periksa angka atau pilihan).";
    if (/\.note$/.test(field)) return "Catatan terlalu panjang.";
    return "Isian ini belum benar: " + message;
  }

  function save() {
    clearTimeout(timer);
    if (halted || conflict) return;
    if (inflight) { again = true; return; }
    var batch = {};
    var codes = Object.keys(pending);
    if (!codes.length) { if (!Object.keys(invalid).length) setState("saved"); return; }
    codes.forEach(function (code) { batch[code] = JSON.parse(JSON.stringify(pending[code])); });
    inflight = true;
    setState("saving");
    fetch(base + "/jawaban", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ version: version, answers: batch })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    }).then(function (result) {
      inflight = false;
      var status = result.status;
      var data = result.data;
      if (status === 200) {
        retryDelay = 0;
        setVersion(data.version);
        codes.forEach(function (code) {
          var now = pending[code];
          if (!now) return;
          Object.keys(batch[code]).forEach(function (field) {
            if (JSON.stringify(now[field]) === JSON.stringify(batch[code][field])) delete now[field];
          });
          if (!Object.keys(now).length) delete pending[code];
        });
        persist();
        applyView(data.view);
        if (Object.keys(pending).length || again) { again = false; schedule(50); }
        else if (Object.keys(invalid).length) setState("error", "Perbaiki isian yang ditandai merah.");
        else setState("saved");
      } else if (status === 412) {
        enterConflict(Object.keys(pending));
      } else if (status === 422 && data.errors) {
        var bad = {};
        data.errors.forEach(function (e) {
          var code = codeOfField(e.field);
          if (code) bad[code] = fieldMessage(e.field, e.message);
        });
        if (!Object.keys(bad).length) { halt("Isian tidak dapat disimpan: " + (data.detail || "")); return; }
        Object.keys(bad).forEach(function (code) {
          invalid[code] = pending[code];
          delete pending[code];
          showError(code, bad[code]);
        });
        persist();
        setState("error", "Perbaiki isian yang ditandai merah.");
        if (Object.keys(pending).length) schedule(50);
      } else if (status === 401) {
        retryLater("Sesi Anda berakhir: masuk lagi di tab lain.");
      } else if (status === 409) {
        halt("Pengisian sudah ditutup atau SAQ sudah dikirim; perubahan tidak dapat disimpan.");
      } else if (status === 403) {
        halt("Anda tidak berwenang mengubah SAQ ini, atau halaman sudah kedaluwarsa. Muat ulang halaman.");
      } else {
        retryLater("Server sedang bermasalah (" + status + ").");
      }
    }).catch(function () {
      inflight = false;
      retryLater("Koneksi terputus.");
    });
  }

  function setVersion(next) {
    version = next;
    while (successors[version]) {
      var after = successors[version];
      delete successors[version];
      version = after;
    }
    form.setAttribute("data-version", String(version));
    var versionInput = form.querySelector('input[name="version"]');
    if (versionInput) versionInput.value = String(version);
  }

  /* The server moved the version from next - 1 to next (an upload or a removal). */
  function adoptVersion(next) {
    if (typeof next !== "number") return;
    if (next - 1 === version) setVersion(next);
    else if (next - 1 > version) successors[next - 1] = next;
  }

  function halt(message) {
    halted = true;
    setState("error", message);
  }

  /* --- Conflicts -------------------------------------------------------------------------------------- */

  function enterConflict(codes) {
    conflict = true;
    setState("conflict");
    if (conflictEl) {
      conflictEl.hidden = false;
      var list = conflictEl.querySelector('[data-role="conflict-codes"]');
      if (list) list.textContent = codes.length ? "Jawaban yang belum terkirim dari tab ini: " + codes.join(", ") + "." : "";
      conflictEl.focus();
    }
  }

  function merge() {
    var button = document.getElementById("merge-btn");
    if (button) button.disabled = true;
    fetch(base + "/keadaan", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        order.forEach(function (code) {
          var keep = Object.assign({}, invalid[code] || {}, pending[code] || {});
          fill(code, data.answers[code] || { value: null, evidence: [], note: null, files: [] }, keep);
          applyEvidence(code);
        });
        successors = {};
        setVersion(data.version);
        conflict = false;
        if (conflictEl) conflictEl.hidden = true;
        applyConditions();
        applyView(data.view);
        persist();
        if (button) button.disabled = false;
        if (data.status !== "draft") { halt("SAQ ini sudah dikirim dari tab/perangkat lain."); return; }
        setState(Object.keys(pending).length ? "pending" : "saved");
        save();
      })
      .catch(function () {
        if (button) button.disabled = false;
        setState("error", "Data terbaru belum dapat dimuat. Coba lagi.");
      });
  }

  /* --- The live panel --------------------------------------------------------------------------------- */

  var STATUS_BADGE = { scored: "badge-ok", evidence_missing: "badge-bad" };

  function applyView(view) {
    if (!view) return;
    var score = document.getElementById("score");
    if (score) score.textContent = view.score;
    var mini = document.querySelector("[data-score-mini]");
    if (mini) mini.textContent = view.score;
    var band = document.getElementById("band");
    if (band) { band.textContent = view.band_label; band.className = "band " + view.band_class; }
    (view.aspects || []).forEach(function (a) {
      var text = a.answered + " dari " + a.applicable + " terjawab";
      var progress = form.querySelector('[data-aspect-progress="' + a.code + '"]');
      if (progress) progress.textContent = text;
      var link = document.querySelector('[data-aspect-link="' + a.code + '"]');
      if (link) {
        var t = link.querySelector('[data-role="progress-text"]');
        if (t) t.textContent = text + " · nilai " + a.score;
        var bar = link.querySelector(".progress");
        if (bar) {
          bar.setAttribute("aria-label", text);
          bar.firstElementChild.style.width = (a.applicable ? Math.round(100 * a.answered / a.applicable) : 0) + "%";
        }
      }
    });
    Object.keys(view.questions || {}).forEach(function (code) {
      if (!questions[code]) return;
      var q = view.questions[code];
      var badge = part(code, "status");
      if (badge) { badge.textContent = q.label; badge.className = "badge " + (STATUS_BADGE[q.status] || "badge-info"); }
      var explain = part(code, "explain");
      if (explain) explain.textContent = q.explanation;
      questions[code].setAttribute("data-status", q.status);
    });
  }

  /* --- Evidence files --------------------------------------------------------------------------------- */

  /* Each file as the pages' evidence_file macro shows it: original name, size, upload time. */
  var files = {};

  function renderFiles(code, list) {
    files[code] = list.slice();
    var ul = part(code, "files");
    if (!ul) return;
    ul.textContent = "";
    list.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "evidence-file";
      li.setAttribute("data-file", f.id);
      var a = document.createElement("a");
      a.href = f.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = f.name;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" "));
      var meta = document.createElement("span");
      meta.className = "muted small";
      meta.setAttribute("data-role", "file-meta");
      meta.textContent = f.size_label + " · diunggah " + f.uploaded_label;
      li.appendChild(meta);
      if (editable) {
        li.appendChild(document.createTextNode(" "));
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "linklike small";
        remove.setAttribute("data-remove-file", f.id);
        remove.textContent = "Hapus";
        var hidden = document.createElement("span");
        hidden.className = "visually-hidden";
        hidden.textContent = " berkas " + f.name;
        remove.appendChild(hidden);
        li.appendChild(remove);
      }
      ul.appendChild(li);
    });
  }

  function currentFiles(code) {
    return (files[code] || []).slice();
  }

  var UPLOAD_ERRORS = {
    413: "Berkas lebih besar dari 2 MB. Perkecil berkas lalu unggah lagi.",
    415: "Hanya dokumen PDF (atau gambar PNG/JPEG) yang dapat diunggah.",
    409: "Berkas tidak dapat ditambahkan: pengisian sudah ditutup, SAQ sudah dikirim, atau berkas sudah terlalu banyak.",
    401: "Sesi Anda berakhir: masuk lagi, lalu unggah ulang.",
    403: "Anda tidak berwenang mengunggah berkas untuk SAQ ini."
  };

  function upload(input) {
    var code = input.getAttribute("data-upload");
    var stateLine = part(code, "upload-state");
    var file = input.files && input.files[0];
    if (!file) return;
    var body = new FormData();
    body.append("file", file, file.name);
    if (stateLine) stateLine.textContent = "Mengunggah " + file.name + "…";
    input.disabled = true;
    fetch(base + "/berkas/" + encodeURIComponent(code), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    }).then(function (result) {
      input.disabled = false;
      input.value = "";
      if (result.status === 201) {
        var list = currentFiles(code);
        list.push(result.data.file);
        renderFiles(code, list);
        adoptVersion(result.data.version);
        applyView(result.data.view);
        if (stateLine) stateLine.textContent = "Berkas " + result.data.file.name + " sudah diunggah.";
      } else if (result.status === 200) {
        /* The same file is attached to this question already: nothing was stored again. */
        var known = currentFiles(code);
        var found = known.some(function (f) { return f.id === result.data.file.id; });
        if (!found) { known.push(result.data.file); renderFiles(code, known); }
        if (stateLine) stateLine.textContent = "Berkas yang sama (" + result.data.file.name + ") sudah ada untuk pertanyaan ini; tidak diunggah dua kali.";
      } else if (stateLine) {
        stateLine.textContent = UPLOAD_ERRORS[result.status] || ("Gagal mengunggah (" + result.status + "). Coba lagi.");
      }
    }).catch(function () {
      input.disabled = false;
      if (stateLine) stateLine.textContent = "Gagal mengunggah: koneksi terputus. Pilih berkas lagi setelah tersambung.";
    });
  }

  function removeFile(button) {
    var code = button.closest(".question").getAttribute("data-code");
    var stateLine = part(code, "upload-state");
    button.disabled = true;
    fetch(base + "/berkas-hapus/" + button.getAttribute("data-remove-file"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    }).then(function (result) {
      if (result.status === 200) {
        var removed = parseInt(button.getAttribute("data-remove-file"), 10);
        renderFiles(code, currentFiles(code).filter(function (f) { return f.id !== removed; }));
        adoptVersion(result.data.version);
        applyView(result.data.view);
        if (stateLine) stateLine.textContent = "Berkas sudah dihapus.";
      } else {
        button.disabled = false;
        if (stateLine) stateLine.textContent = UPLOAD_ERRORS[result.status] || "Berkas gagal dihapus. Coba lagi.";
      }
    }).catch(function () {
      button.disabled = false;
      if (stateLine) stateLine.textContent = "Berkas gagal dihapus: koneksi terputus.";
    });
  }

  /* --- Wiring ----------------------------------------------------------------------------------------- */

  function codeOf(target) {
    var q = target.closest && target.closest(".question");
    return q ? q.getAttribute("data-code") : null;
  }

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.type === "file") return;
    var code = codeOf(target);
    if (!code) return;
    if (target.type === "radio" || target.type === "checkbox") return;
    if (fieldOf(target) === "value") applyEvidence(code);
    changed(code, fieldOf(target));
  });

  form.addEventListener("change", function (event) {
    var target = event.target;
    var code = codeOf(target);
    if (!code) return;
    if (target.type === "file") { upload(target); return; }
    if (target.type === "radio" || target.type === "checkbox") {
      applyConditions();
      applyEvidence(code);
      changed(code, fieldOf(target));
      schedule(150);
    }
  });

  form.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) return;
    if (target.hasAttribute("data-clear")) {
      var code = target.getAttribute("data-clear");
      inputsOf(code, "value").forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = false; else input.value = "";
      });
      applyConditions();
      applyEvidence(code);
      changed(code, "value");
    } else if (target.hasAttribute("data-remove-file")) {
      removeFile(target);
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save();
  });

  var mergeButton = document.getElementById("merge-btn");
  if (mergeButton) mergeButton.addEventListener("click", merge);

  window.addEventListener("online", function () { retryDelay = 0; save(); });
  window.addEventListener("beforeunload", function (event) {
    if (Object.keys(pending).length) { persist(); event.preventDefault(); event.returnValue = ""; }
  });

  /* --- Start: restore what was not sent last time --------------------------------------------------- */

  var stored = {};
  try { stored = JSON.parse(document.getElementById("saq-answers").textContent || "{}"); } catch (e) { stored = {}; }
  order.forEach(function (code) { files[code] = (stored[code] && stored[code].files) || []; });
  applyConditions();
  if (editable) {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    if (saved && (Object.keys(saved.pending || {}).length || Object.keys(saved.invalid || {}).length)) {
      var restored = {};
      [saved.invalid || {}, saved.pending || {}].forEach(function (source) {
        Object.keys(source).forEach(function (code) {
          restored[code] = Object.assign(restored[code] || {}, source[code]);
        });
      });
      Object.keys(restored).forEach(function (code) {
        if (!questions[code]) return;
        var typed = restored[code];
        var skip = {};
        ["value", "evidence", "note"].forEach(function (f) { if (!(f in typed)) skip[f] = true; });
        fill(code, { value: typed.value, evidence: typed.evidence, note: typed.note }, skip);
        pending[code] = typed;
      });
      applyConditions();
      if (saved.version && saved.version !== version) {
        version = saved.version;
      }
      setState("pending", "Memulihkan perubahan yang belum terkirim");
      schedule(300);
    }
  }
  order.forEach(applyEvidence);
})();
