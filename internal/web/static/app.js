// Baton's only script: copy buttons, confirmations, and live updates of the
// pipeline graph and the job log by polling small JSON endpoints.
"use strict";
(function () {
  function $(sel, root) { return (root || document).querySelector(sel); }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (!b) return;
    var text = b.getAttribute("data-copy");
    var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectInput(b); });
    } else { selectInput(b); document.execCommand && document.execCommand("copy"); done(); }
  });
  function selectInput(b) { var i = b.parentNode.querySelector("input"); if (i) { i.focus(); i.select(); } }

  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });

  function setStatus(el, status, label) {
    if (!el) return;
    el.className = el.className.replace(/\bst-[a-z_]+/g, "").trim() + " st-" + status;
    if (label !== undefined && el.classList.contains("status") && !el.classList.contains("mini")) el.textContent = label;
  }

  function poll(url, onData, delay) {
    var stopped = false;
    function tick() {
      fetch(url(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (d) { var again = onData(d); if (again !== false) setTimeout(tick, again === "now" ? 50 : delay); })
        .catch(function () { if (!stopped) setTimeout(tick, delay * 3); });
    }
    setTimeout(tick, delay);
  }

  // Pipeline page: patch node statuses; reload when jobs or artifacts appear or the pipeline ends.
  var pl = $("#pipeline");
  if (pl && pl.dataset.finished !== "true") {
    poll(function () { return pl.dataset.poll; }, function (d) {
      if (d.signature !== pl.dataset.sig || d.finished) { location.reload(); return false; }
      setStatus($("#pl-status"), d.status, d.label);
      var dur = $("#pl-duration"); if (dur) dur.textContent = d.duration;
      d.jobs.forEach(function (j) {
        var n = document.getElementById("job-" + j.id);
        if (!n) return;
        setStatus(n, j.status);
        setStatus(n.querySelector(".status"), j.status);
        n.querySelector(".jdur").textContent = j.duration;
        n.querySelector(".jlabel").textContent = j.label;
        document.querySelectorAll('.edge[data-from="' + j.id + '"]').forEach(function (e) { setStatus(e, j.status); });
      });
    }, 1500);
  }

  // Job page: append new log lines as they arrive.
  var job = $("#job");
  if (job) {
    var log = $("#log"), follow = $("#follow");
    var toggle = $("#toggle-sections");
    if (toggle) toggle.addEventListener("click", function () {
      var all = log.querySelectorAll("details.section"), anyOpen = false;
      all.forEach(function (d) { anyOpen = anyOpen || d.open; });
      all.forEach(function (d) { d.open = !anyOpen; });
      toggle.textContent = anyOpen ? "Expand all" : "Collapse all";
    });
    if (follow && job.dataset.finished !== "true" && !location.hash) window.scrollTo(0, document.body.scrollHeight);
    var offset = +job.dataset.offset, line = +job.dataset.line;
    function container() {
      var open = log.querySelectorAll("details[data-open]");
      return open.length ? open[open.length - 1] : log;
    }
    function lineEl(tag, l) {
      var el = document.createElement(tag);
      el.className = "line"; el.id = "L" + l.n;
      el.innerHTML = '<a class="ln" href="#L' + l.n + '" aria-label="line ' + l.n + '">' + l.n + '</a><span class="lc">' + l.h + "</span>";
      return el;
    }
    function fmt(s) {
      if (s <= 0) return "0s";
      var m = Math.floor(s / 60), h = Math.floor(m / 60);
      if (h) return h + "h " + String(m % 60).padStart(2, "0") + "m";
      if (m) return m + "m " + String(s % 60).padStart(2, "0") + "s";
      return s + "s";
    }
    if (job.dataset.finished !== "true") {
      poll(function () { return job.dataset.poll + "?offset=" + offset + "&line=" + line; }, function (d) {
        var frag = container();
        d.lines.forEach(function (l) {
          if (l.s) {
            var det = document.createElement("details");
            det.className = "section"; det.dataset.section = l.s; det.dataset.start = l.st || 0; det.dataset.open = "1";
            if (!l.c) det.open = true;
            var sum = lineEl("summary", l);
            var dur = document.createElement("span"); dur.className = "sdur"; sum.appendChild(dur);
            det.appendChild(sum); frag.appendChild(det); frag = det;
          } else if (l.h || !l.e) {
            frag.appendChild(lineEl("div", l));
          }
          if (l.e && !l.s) {
            var open = log.querySelectorAll("details[data-open]");
            for (var i = open.length - 1; i >= 0; i--) {
              if (open[i].dataset.section === l.e) {
                var sd = open[i].querySelector(":scope > summary .sdur");
                if (sd) sd.textContent = fmt(Math.max(0, (l.et || 0) - (+open[i].dataset.start || 0)));
                for (var k = open.length - 1; k >= i; k--) delete open[k].dataset.open;
                break;
              }
            }
            frag = container();
          }
        });
        offset = d.offset; line = d.line;
        setStatus($("#job-status"), d.status, d.label);
        var lab = $("#job-label"); if (lab) lab.textContent = d.label;
        var jd = $("#job-duration"); if (jd) jd.textContent = d.duration;
        if (d.lines.length && follow && follow.checked) window.scrollTo(0, document.body.scrollHeight);
        if (d.finished) {
          $("#logtail").textContent = "";
          setTimeout(function () { location.reload(); }, 300);
          return false;
        }
        return d.lines.length > 200 ? "now" : undefined;
      }, 1000);
    }
  }
})();
