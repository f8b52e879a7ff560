// Copy buttons (navigator.clipboard, falling back to a hidden textarea) and Ctrl+Enter to search.
(function () {
  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.left = "-9999px";
    document.body.appendChild(ta); ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }
  function done(btn, ok) {
    var label = btn.textContent;
    btn.textContent = ok ? "コピーしました" : "コピーできません";
    setTimeout(function () { btn.textContent = label; }, 1500);
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
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.tagName === "TEXTAREA" && ev.target.form) {
      ev.preventDefault();
      ev.target.form.requestSubmit ? ev.target.form.requestSubmit() : ev.target.form.submit();
    }
  });
})();
