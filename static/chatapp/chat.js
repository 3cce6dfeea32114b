// chatapp's own browser code: small, no inline handlers (the CSP forbids them).
(function () {
  "use strict";

  function formatElapsed(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  // "Thinking… 12 s": tick every live timer on the page.
  function tickTimers() {
    var now = Date.now();
    document.querySelectorAll(".elapsed[data-since]").forEach(function (el) {
      el.textContent = formatElapsed(now - Number(el.dataset.since));
    });
  }
  setInterval(tickTimers, 250);

  // A model that takes no effort disables the effort selector and says why.
  function syncEffort() {
    var model = document.getElementById("model-select");
    var effort = document.getElementById("effort-select");
    var reason = document.getElementById("effort-reason");
    if (!model || !effort || !reason) return;
    var option = model.options[model.selectedIndex];
    var takesEffort = option && option.dataset.takesEffort === "true";
    effort.disabled = !takesEffort;
    reason.hidden = takesEffort;
    if (!takesEffort && option) {
      reason.textContent = option.text + " does not take a reasoning effort.";
    }
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "model-select") syncEffort();
  });

  // Enter sends, Shift+Enter adds a line.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && target.id === "message-input" && event.key === "Enter" &&
        !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  var stickToBottom = true;
  document.addEventListener("htmx:wsBeforeMessage", function () {
    stickToBottom = nearBottom();
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    tickTimers();
    if (stickToBottom) window.scrollTo(0, document.body.scrollHeight);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "message-input") {
      event.detail.target.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncEffort();
    tickTimers();
    window.scrollTo(0, document.body.scrollHeight);
  });
})();
