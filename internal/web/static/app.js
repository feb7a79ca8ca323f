// Baton's only script: copy buttons, confirmations, and live updates of the
// pipeline graph and the job log from event streams (EventSource on
// /-/ui/.../events), falling back to polling small JSON endpoints where a
// stream cannot be had.
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
    // class attribute, not className: edges are SVG elements.
    var cls = (el.getAttribute("class") || "").replace(/\bst-[a-z_]+/g, "").trim();
    el.setAttribute("class", cls + " st-" + status);
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

  // live follows an event stream: on[type](data) for each event, which may
  // return false to close it. The browser reconnects by itself (with
  // Last-Event-ID) after a dropped connection; if the stream cannot be had
  // at all (no EventSource, or the server refused it), fallback() polls.
  function live(url, on, fallback) {
    if (!window.EventSource) { fallback(); return; }
    var es = new EventSource(url, { withCredentials: true });
    Object.keys(on).forEach(function (type) {
      es.addEventListener(type, function (ev) {
        if (on[type](JSON.parse(ev.data)) === false) es.close();
      });
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) fallback();
    };
  }
  function label(status) {
    return status === "success" ? "passed" : status === "waiting_for_resource" ? "waiting" : status;
  }
  function finished(status) { return /^(success|failed|canceled|skipped)$/.test(status); }
  function fmt(s) {
    if (s <= 0) return "0s";
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (h) return h + "h " + String(m % 60).padStart(2, "0") + "m";
    if (m) return m + "m " + String(s % 60).padStart(2, "0") + "s";
    return s + "s";
  }
  // Running durations tick in the page, without a request: each counts on
  // from what it showed when rendered, or from 0 when its job started.
  var loaded = Date.now();
  function tick() {
    document.querySelectorAll("[data-dur][data-running=true]").forEach(function (el) {
      el.textContent = fmt(Math.round(+el.dataset.dur + (Date.now() - (+el.dataset.t0 || loaded)) / 1000));
    });
  }
  function running(el, status) {
    if (!el) return;
    var now = status === "running";
    if (now && el.dataset.running !== "true") { el.dataset.dur = 0; el.dataset.t0 = Date.now(); }
    el.dataset.running = now ? "true" : "false";
  }

  // Pipeline page: patch node statuses; reload when jobs or artifacts appear or the pipeline ends.
  var pl = $("#pipeline");
  function jobStatus(id, status, lbl, duration) {
    var n = document.getElementById("job-" + id);
    if (!n) return false;
    setStatus(n, status);
    setStatus(n.querySelector(".status"), status);
    if (duration !== undefined) n.querySelector(".jdur").textContent = duration;
    n.querySelector(".jlabel").textContent = lbl;
    document.querySelectorAll('.edge[data-from="' + id + '"]').forEach(function (e) { setStatus(e, status); });
    return true;
  }
  function pollPipeline() {
    poll(function () { return pl.dataset.poll; }, function (d) {
      if (d.signature !== pl.dataset.sig || d.finished) { location.reload(); return false; }
      setStatus($("#pl-status"), d.status, d.label);
      var dur = $("#pl-duration"); if (dur) dur.textContent = d.duration;
      d.jobs.forEach(function (j) { jobStatus(j.id, j.status, j.label, j.duration); });
    }, 1500);
  }
  if (pl && pl.dataset.finished !== "true") {
    live(pl.dataset.events, {
      job: function (d) {
        if (!jobStatus(d.job.id, d.job.status, label(d.job.status))) { location.reload(); return false; }
        running(document.querySelector("#job-" + d.job.id + " .jdur"), d.job.status);
      },
      artifact: function () { location.reload(); return false; },
      pipeline: function (d) {
        setStatus($("#pl-status"), d.pipeline.status, label(d.pipeline.status));
        if (finished(d.pipeline.status)) { location.reload(); return false; }
        if (d.pipeline.status === "running" && $("#pl-duration").dataset.running !== "true") {
          $("#pl-duration").dataset.t0 = Date.now(); $("#pl-duration").dataset.running = "true";
        }
      }
    }, function () { document.querySelectorAll("[data-running]").forEach(function (el) { el.dataset.running = "false"; }); pollPipeline(); });
    setInterval(tick, 1000);
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
    // applyTrace appends a trace update (trace.json's answer, or a log
    // event's data); false once the job finished.
    function applyTrace(d) {
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
    }
    if (job.dataset.finished !== "true") {
      live(job.dataset.events + "?offset=" + offset + "&line=" + line, { log: applyTrace }, function () {
        poll(function () { return job.dataset.poll + "?offset=" + offset + "&line=" + line; }, applyTrace, 1000);
      });
    }
  }
})();
