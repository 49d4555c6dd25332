/* Relais admin: line numbers in the flow editor, jump to an error's line, and Check / Preview
   without leaving the page. Without JavaScript every button still works as a plain form. */
(function () {
  "use strict";

  function editorParts() {
    return {form: document.getElementById("flow-form"), box: document.getElementById("flow-text"),
            gutter: document.getElementById("gutter")};
  }

  function badLines(form) {
    var file = form.getAttribute("data-file");
    var bad = {};
    document.querySelectorAll(".problem.error[data-line]").forEach(function (item) {
      if (item.getAttribute("data-file") === file && item.getAttribute("data-line")) {
        bad[item.getAttribute("data-line")] = true;
      }
    });
    return bad;
  }

  function renderGutter() {
    var parts = editorParts();
    if (!parts.box || !parts.gutter) { return; }
    var count = parts.box.value.split("\n").length;
    var bad = badLines(parts.form);
    var fragment = document.createDocumentFragment();
    for (var n = 1; n <= count; n += 1) {
      var span = document.createElement("span");
      span.textContent = String(n);
      if (bad[n]) { span.className = "bad"; }
      fragment.appendChild(span);
    }
    parts.gutter.replaceChildren(fragment);
    parts.gutter.scrollTop = parts.box.scrollTop;
  }

  function gotoLine(number) {
    var box = editorParts().box;
    if (!box) { return; }
    var lines = box.value.split("\n");
    var start = 0;
    for (var i = 0; i < number - 1 && i < lines.length; i += 1) { start += lines[i].length + 1; }
    var end = start + (lines[number - 1] || "").length;
    box.focus();
    box.setSelectionRange(start, end);
    var height = parseFloat(window.getComputedStyle(box).lineHeight) || 20;
    box.scrollTop = Math.max(0, (number - 4) * height);
    box.scrollIntoView({block: "center"});
  }

  function send(form, button) {
    var target = document.getElementById(button.getAttribute("data-target"));
    var label = button.textContent;
    button.disabled = true;
    button.textContent = button.getAttribute("data-busy") || label;
    target.setAttribute("aria-busy", "true");
    return fetch(button.getAttribute("formaction"), {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
      if (response.status === 400) {
        throw new Error("La page a expiré : rechargez-la, puis recommencez (votre texte n'est pas enregistré).");
      }
      if (!response.ok) { throw new Error("Le serveur n'a pas pu répondre (erreur " + response.status + ")."); }
      return response.json();
    }).then(function (data) {
      if (data === null) { return; }
      target.innerHTML = data.html;
      renderGutter();
    }).catch(function (error) {
      var p = document.createElement("p");
      p.className = "flash error";
      p.setAttribute("role", "alert");
      p.textContent = error.message || "Pas de connexion au serveur.";
      target.replaceChildren(p);
    }).then(function () {
      button.disabled = false;
      button.textContent = label;
      target.removeAttribute("aria-busy");
    });
  }

  function start() {
    var parts = editorParts();
    if (!parts.form || !parts.box) { return; }
    document.documentElement.classList.add("js");
    parts.box.addEventListener("input", renderGutter);
    parts.box.addEventListener("scroll", function () { parts.gutter.scrollTop = parts.box.scrollTop; });
    parts.form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.getAttribute("data-target")) { return; }  // Save: a plain form post
      event.preventDefault();
      send(parts.form, button);
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.goto-line") : null;
      if (!link) { return; }
      event.preventDefault();
      gotoLine(parseInt(link.getAttribute("data-line"), 10));
    });
    renderGutter();
  }

  document.addEventListener("DOMContentLoaded", start);
}());
