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
  document.addEventListener("keydown", function (ev) {
    var box = ev.target;
    if (ev.key !== "Enter" || box.tagName !== "TEXTAREA" || !box.form || ev.isComposing) return;
    var searchBox = box.hasAttribute("data-enter-submits");
    if ((searchBox && !ev.shiftKey) || ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      box.form.requestSubmit ? box.form.requestSubmit() : box.form.submit();
    }
  });
})();
