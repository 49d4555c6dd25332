/* Relais inbox: the queue and the thread refresh themselves, and the reply box counts SMS.
   Plain JavaScript, no build step. The GSM-7 rules come from bot/core/sms.py (data-sms). */
(function () {
  "use strict";
  var EVERY = 3000;

  function poll(element, render) {
    var url = element.getAttribute("data-poll");
    var last = null;
    function tick() {
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
        .then(function (response) {
          if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (data === null) { return; }
          if (data.html !== last) { last = data.html; render(data); }
          status("Mis à jour à " + new Date().toLocaleTimeString("fr-BE"));
        })
        .catch(function () { status("Connexion perdue, nouvel essai dans 3 s..."); })
        .then(function () { window.setTimeout(tick, EVERY); });
    }
    window.setTimeout(tick, EVERY);
  }

  function status(text) {
    var node = document.getElementById("queue-status");
    if (node) { node.textContent = text; }
  }

  function caseIds(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-case-id]"), function (n) {
      return n.getAttribute("data-case-id");
    });
  }

  function startQueue() {
    var queue = document.getElementById("queue");
    if (!queue) { return; }
    var seen = caseIds(queue);
    poll(queue, function (data) {
      queue.innerHTML = data.html;
      caseIds(queue).forEach(function (id) {
        if (seen.indexOf(id) === -1) {
          queue.querySelector('[data-case-id="' + id + '"]').classList.add("fresh");
        }
      });
      seen = caseIds(queue);
      document.title = (data.count ? "(" + data.count + ") " : "") + "File - Relais";
    });
  }

  function startThread() {
    var list = document.getElementById("messages");
    if (!list) { return; }
    list.scrollTop = list.scrollHeight;
    poll(list, function (data) {
      var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      keepUnchanged(list, data.html);
      if (atBottom) { list.scrollTop = list.scrollHeight; }
    });
  }

  // Replace the messages, but keep the nodes that did not change: a voice message being
  // listened to goes on playing, and no photo is fetched again. A <template> loads nothing.
  function keepUnchanged(list, html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    var old = {};
    Array.prototype.forEach.call(list.children, function (node) {
      var id = node.getAttribute("data-message-id");
      if (id) { old[id] = node; }
    });
    var nodes = Array.prototype.map.call(fresh.content.children, function (node) {
      var previous = old[node.getAttribute("data-message-id")];
      return previous && previous.outerHTML === node.outerHTML ? previous : document.importNode(node, true);
    });
    list.replaceChildren.apply(list, nodes);
  }

  // --- SMS segments, mirroring bot/core/sms.py: prepare() then segment_info() ---------------------

  function toGsm7(text, rules) {
    text = text.replace(/[\s\u00a0\u202f]*»/g, '"').replace(/«[\s\u00a0\u202f]*/g, '"');
    var out = "";
    Array.from(text).forEach(function (ch) {
      if (rules.basic.has(ch) || rules.extension.has(ch)) { out += ch; return; }
      if (Object.prototype.hasOwnProperty.call(rules.replacements, ch)) { out += rules.replacements[ch]; return; }
      var base = ch.normalize("NFD").replace(/\p{M}/gu, "");
      var fits = base.length > 0 && Array.from(base).every(function (c) { return rules.basic.has(c); });
      out += fits ? base : ch;
    });
    return out;
  }

  function segmentInfo(text, rules) {
    var chars = Array.from(text);
    var gsm = chars.every(function (c) { return rules.basic.has(c) || rules.extension.has(c); });
    var units, single, multi;
    if (gsm) {
      units = chars.reduce(function (n, c) { return n + (rules.extension.has(c) ? 2 : 1); }, 0);
      single = 160; multi = 153;
    } else {
      units = text.length;  // UTF-16 code units, as Twilio counts UCS-2
      single = 70; multi = 67;
    }
    return {encoding: gsm ? "GSM-7" : "UCS-2", units: units,
            segments: units <= single ? 1 : Math.ceil(units / multi)};
  }

  function startCounter() {
    var box = document.getElementById("reply-body");
    var out = document.getElementById("reply-count");
    if (!box || !out) { return; }
    var raw = JSON.parse(box.getAttribute("data-sms"));
    var rules = {basic: new Set(Array.from(raw.basic)), extension: new Set(Array.from(raw.extension)),
                 replacements: raw.replacements};
    var channel = box.getAttribute("data-channel");
    function update() {
      var text = box.value.replace(/\r\n?/g, "\n").trim();
      if (channel === "whatsapp") {
        out.textContent = "WhatsApp · " + text.length + " caractères" +
          (box.getAttribute("data-template") === "yes" ? " · envoyé comme modèle approuvé" : "");
        return;
      }
      var sent = toGsm7(text, rules);
      var info = segmentInfo(sent, rules);
      var parts = [info.segments + " SMS", info.units + " caractères", info.encoding];
      if (info.encoding === "UCS-2") { parts.push("caractères spéciaux : 70 par SMS"); }
      if (sent !== text) { parts.push("certains caractères seront remplacés (ç → c, ê → e, « » → \"\")"); }
      out.textContent = parts.join(" · ");
      out.classList.toggle("many", info.segments > 1);
    }
    box.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    startQueue();
    startThread();
    startCounter();
  });
}());
