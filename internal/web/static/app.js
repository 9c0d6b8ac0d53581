// Recado's few lines of script. Everything works without it; it adds
// confirmations, a live character count and error notices for htmx requests.
(function () {
  "use strict";
  // Forms with data-confirm ask before they go.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  // A text box with data-counter shows how many characters it holds.
  document.addEventListener("input", function (e) {
    var id = e.target.getAttribute && e.target.getAttribute("data-counter");
    if (!id) { return; }
    var out = document.getElementById(id);
    if (out) { out.textContent = Array.from(e.target.value).length + " / " + e.target.maxLength; }
  });
  // A form with data-progress shows how much of its upload has gone in the
  // <progress> it names (htmx sends the form).
  document.addEventListener("htmx:xhr:progress", function (e) {
    var form = e.target.closest && e.target.closest("form[data-progress]");
    var bar = form && document.getElementById(form.getAttribute("data-progress"));
    if (!bar || !e.detail.total) { return; }
    bar.hidden = false;
    bar.value = Math.round(e.detail.loaded * 100 / e.detail.total);
  });
  // htmx does not swap error answers: say something instead of nothing.
  document.addEventListener("htmx:responseError", function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    if (status === 401) { window.location = "/login"; return; }
    window.alert((document.documentElement.lang === "pt-BR" ? "Erro " : "Error ") + status);
  });
})();
