// Copy buttons (navigator.clipboard, falling back to a hidden textarea); Enter searches from the
// search box (Shift+Enter adds a line); Ctrl+Enter submits any form's text box.
(function () {
  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.className = "offscreen";
    document.body.appendChild(ta); ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }
  function done(btn, ok) {
    // the label the button had before any click: a second click within the pause must not keep "コピーしました"
    if (!btn.hasAttribute("data-label")) btn.setAttribute("data-label", btn.textContent);
    clearTimeout(btn._reset);
    btn.textContent = ok ? "コピーしました" : "コピーできません";
    btn._reset = setTimeout(function () { btn.textContent = btn.getAttribute("data-label"); }, 1500);
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el) return;
    var text = el.innerText;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(btn, true); },
        function () { done(btn, fallbackCopy(text)); });
    } else {
      done(btn, fallbackCopy(text));
    }
  });
  // a form that removes something asks first (data-confirm holds the question)
  document.addEventListener("submit", function (ev) {
    var q = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) ev.preventDefault();
  });
  document.addEventListener("keydown", function (ev) {
    var box = ev.target;
    if (ev.key !== "Enter" || box.tagName !== "TEXTAREA" || !box.form || ev.isComposing) return;
    var searchBox = box.hasAttribute("data-enter-submits");
    if ((searchBox && !ev.shiftKey) || ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      box.form.requestSubmit ? box.form.requestSubmit() : box.form.submit();
    }
  });

  // The questionnaire forms: while the answer is being made, the button is disabled and busy, and a bar
  // shows the questions answered so far (polled from /answer/progress/ID; the id goes with the form).
  var POLL_MS = 700;
  function progressText(p) {
    if (p.state === "queued") {
      return p.ahead > 0 ? "順番待ちです(前に " + p.ahead + " 件)…" : "ファイルを受け取っています…";
    }
    if (!p.total) return "チェックシートを読み取っています…";
    if (p.done >= p.total) return "回答を書き込んでいます…";
    return p.done + " / " + p.total + " 問に回答しました…";
  }
  function newId() {
    var bytes = new Uint8Array(16), out = "";
    window.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes[i].toString(16)).slice(-2);
    return out;
  }
  function busy(form, on) {
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.disabled = on;
      b.classList.toggle("busy", on);
      b.setAttribute("aria-busy", on ? "true" : "false");
    });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target, box = document.getElementById("answer-progress");
    // the path alone: a page restored from the cache keeps the ?progress= of its last submit
    if (!box || (form.getAttribute("action") || "").split("?")[0] !== "/answer" || ev.defaultPrevented) return;
    var id = newId(), bar = box.querySelector("progress"), text = box.querySelector("[role=status]");
    form.action = "/answer?progress=" + id;
    window.setTimeout(function () { busy(form, true); }, 0);  // after the browser has taken the form's data
    box.hidden = false;
    bar.removeAttribute("value");  // indeterminate until the questions are counted
    text.textContent = "送信しています…";
    var timer = window.setInterval(function () {
      fetch("/answer/progress/" + id, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (p) {
        if (!p) return;
        text.textContent = progressText(p);
        if (p.total) { bar.max = p.total; bar.value = p.done; }
      }).catch(function () {});
    }, POLL_MS);
    window.addEventListener("pagehide", function () { window.clearInterval(timer); }, {once: true});
  });
  window.addEventListener("pageshow", function (ev) {  // back to a page kept in the cache: ready again
    if (!ev.persisted) return;
    document.querySelectorAll("form").forEach(function (f) { busy(f, false); });
    var box = document.getElementById("answer-progress");
    if (box) box.hidden = true;
  });
})();
