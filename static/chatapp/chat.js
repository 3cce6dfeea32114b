// chatapp's own browser code: small, no inline handlers (the CSP forbids them).
(function () {
  "use strict";

  function formatElapsed(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  // "Thinking… 12 s": the server says how long the model had been thinking
  // when it wrote the timer; the browser counts on from when it first saw it.
  // Not from the start time by the browser's clock, which may be off by hours.
  function tickTimers() {
    var now = performance.now();
    document.querySelectorAll(".elapsed[data-elapsed-ms]").forEach(function (el) {
      if (el.chatappStartedAt === undefined) {
        el.chatappStartedAt = now - Number(el.dataset.elapsedMs);
      }
      el.textContent = formatElapsed(now - el.chatappStartedAt);
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
    var attach = document.getElementById("attach-button");
    var attachReason = document.getElementById("attach-reason");
    if (attach && attachReason) {
      var takesImages = option && option.dataset.takesImages === "true";
      attach.disabled = !takesImages;
      attachReason.hidden = takesImages;
      if (!takesImages && option) attachReason.textContent = option.text + " cannot look at images.";
    }
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "model-select") syncEffort();
  });

  // Enter sends, Shift+Enter adds a line. The Enter that picks an input method's
  // characters does not: isComposing says so, or (Safari, after compositionend) keyCode 229.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && target.id === "message-input" && event.key === "Enter" &&
        !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  // One send at a time: a double click or a second Enter before the server
  // answered the first would send the message again (and be refused).
  var sending = false;
  var sendingTimer = null;
  // What that send carried, until the server clears the composer (see below).
  var sentText = null;
  document.addEventListener("submit", function (event) {
    if (!event.target || event.target.id !== "composer") return;
    if (sending) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (event.target.checkValidity()) {
      sending = true;
      var input = document.getElementById("message-input");
      sentText = input ? input.value : null;
      // Should no answer come (a server that hangs), sending is not blocked for good.
      clearTimeout(sendingTimer);
      sendingTimer = setTimeout(function () { sending = false; }, 20000);
    }
  }, true);

  // The server clears the composer once the message is saved. What was typed
  // meanwhile (a slow connection, a send queued while offline) is kept.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "message-input" || sentText === null) return;
    var typed = target.value;
    var sent = sentText;
    sentText = null;
    if (typed === sent) return;
    event.preventDefault();
    target.value = typed.indexOf(sent) === 0 ? typed.slice(sent.length).replace(/^\s+/, "") : typed;
  });

  // Screen readers hear a new answer once it is written, not every delta.
  function syncBusy() {
    var messages = document.getElementById("messages");
    if (!messages) return;
    var busy = messages.querySelector('.message[data-status="streaming"]') !== null;
    messages.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // A swap from the server replaces elements whole; the keyboard's focus went
  // with the old one. Give it to the new element with the same id.
  var refocus = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    var active = document.activeElement;
    if (target && active && active.id && active !== document.body && target.contains(active)) {
      refocus = active.id;
    }
  });
  // Focus on an element the message removed (Regenerate, Retry) or hid (Stop,
  // once nothing streams) goes to the composer, not back to the page's start.
  var focusedBefore = null;
  function restoreFocus() {
    var again = refocus && document.getElementById(refocus);
    refocus = null;
    if (again && document.activeElement !== again) {
      again.focus({ preventScroll: true });
      return;
    }
    var lost = focusedBefore;
    focusedBefore = null;
    if (!lost || (document.activeElement !== lost && document.activeElement !== document.body)) return;
    var hidden = lost.closest("#stop-form") &&
      !document.querySelector('.message[data-status="streaming"]');
    var input = document.getElementById("message-input");
    if ((!lost.isConnected || hidden) && input) input.focus({ preventScroll: true });
  }

  // A button that replaces itself (with the part it belongs to) took the keyboard's
  // focus with it. Paging answer versions: keep it on the pager (on the other
  // button once this one is disabled at either end). "Show older conversations":
  // on the first conversation it brought.
  var refocusAfterSwap = null;
  function focusPager(answers, label) {
    var article = document.querySelector('article[data-answers="' + answers + '"]');
    if (!article) return;
    var buttons = Array.prototype.slice.call(article.querySelectorAll(".pager-button"));
    var same = buttons.filter(function (b) { return b.getAttribute("aria-label") === label; })[0];
    var enabled = buttons.filter(function (b) { return !b.disabled; })[0];
    var next = same && !same.disabled ? same : enabled;
    if (next) next.focus({ preventScroll: true });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail && event.detail.target;
    refocusAfterSwap = null;
    if (!active || !target || !target.contains(active)) return;
    if (active.classList.contains("pager-button")) {
      var answers = target.dataset.answers;
      var label = active.getAttribute("aria-label");
      refocusAfterSwap = function () { focusPager(answers, label); };
    } else if (target.classList.contains("older-conversations")) {
      var before = target.previousElementSibling;
      var list = target.parentElement;
      refocusAfterSwap = function () {
        var first = before ? before.nextElementSibling : list.firstElementChild;
        var link = first && first.querySelector("a");
        if (link) link.focus({ preventScroll: true });
      };
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var refocusNow = refocusAfterSwap;
    refocusAfterSwap = null;
    if (refocusNow) refocusNow();
  });

  var stickToBottom = true;
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    stickToBottom = nearBottom();
    var active = document.activeElement;
    focusedBefore = active && active !== document.body ? active : null;
    // The server's answer to a send: the composer reset, or why it was refused.
    var message = event.detail && event.detail.message;
    if (typeof message === "string" && message.indexOf('id="composer-status"') >= 0) sending = false;
  });
  // The socket's state: htmx reconnects after a drop, and queues sends meanwhile.
  // An alert, inserted when it happens: screen readers say it at once.
  function connection(text) {
    var box = document.getElementById("connection-status");
    if (!box || box.textContent === text) return;
    box.innerHTML = text ? '<p role="alert"></p>' : "";
    if (text) box.firstChild.textContent = text;
  }
  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail && event.detail.event && event.detail.event.code;
    if ([1006, 1011, 1012, 1013].indexOf(code) >= 0) {
      connection("Connection lost. Reconnecting… What you send meanwhile goes when it is back.");
    } else if (code >= 4000) {
      connection("Disconnected. Reload the page to continue.");
    }
  });
  document.addEventListener("htmx:wsOpen", function () {
    connection("");
    sending = false;
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    restoreFocus();
    tickTimers();
    syncBusy();
    if (stickToBottom) window.scrollTo(0, document.body.scrollHeight);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "message-input") {
      event.detail.target.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncEffort();
    syncBusy();
    tickTimers();
    window.scrollTo(0, document.body.scrollHeight);
  });
})();

// Images: the "Attach image" button, drag and drop, and paste all upload here.
(function () {
  "use strict";

  function status(text) {
    var box = document.getElementById("composer-status");
    if (box) box.innerHTML = text ? '<p class="status-text"></p>' : "";
    if (box && text) box.firstChild.textContent = text;
  }

  function upload(file) {
    var button = document.getElementById("attach-button");
    var tray = document.getElementById("attachment-tray");
    if (!button || !tray) return;
    if (button.disabled) {
      status(document.getElementById("attach-reason").textContent);
      return;
    }
    var body = new FormData();
    body.append("image", file, file.name || "pasted-image.png");
    fetch(button.dataset.uploadUrl, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": button.dataset.csrfToken },
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (html) {
        if (!response.ok) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          status(holder.textContent.trim() || "The image could not be attached.");
          return;
        }
        status("");
        tray.insertAdjacentHTML("beforeend", html);
        htmx.process(tray);
      });
    }).catch(function () {
      status("The image could not be uploaded. Check the connection and try again.");
    });
  }

  function uploadAll(files) {
    Array.prototype.forEach.call(files || [], function (file) {
      if (file.type.indexOf("image/") === 0 || file.type === "") upload(file);
      else status("“" + file.name + "” is not an image.");
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.id === "attach-button") document.getElementById("attach-input").click();
    if (target.classList.contains("remove-attachment")) {
      var item = target.closest(".pending-attachment");
      var button = document.getElementById("attach-button");
      fetch(target.dataset.removeUrl, {
        method: "POST",
        headers: { "X-CSRFToken": button.dataset.csrfToken },
        credentials: "same-origin",
      }).then(function (response) {
        if (response.ok) {
          // The keyboard's place: the next (or previous) image's button, else "Attach image".
          var hadFocus = item.contains(document.activeElement);
          var neighbour = item.nextElementSibling || item.previousElementSibling;
          item.remove();
          if (hadFocus) {
            var next = neighbour && neighbour.querySelector(".remove-attachment");
            (next || button).focus();
          }
        } else status("The image could not be removed. Reload the page and try again.");
      }).catch(function () {
        status("The image could not be removed. Check the connection and try again.");
      });
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "attach-input") {
      uploadAll(event.target.files);
      event.target.value = "";
    }
  });

  document.addEventListener("paste", function (event) {
    if (!document.getElementById("composer")) return;
    var files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) {
      event.preventDefault();
      uploadAll(files);
    }
  });

  document.addEventListener("dragover", function (event) {
    if (document.getElementById("composer") && event.dataTransfer &&
        Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
      document.body.classList.add("dragging-file");
    }
  });
  document.addEventListener("dragleave", function () {
    document.body.classList.remove("dragging-file");
  });
  document.addEventListener("drop", function (event) {
    if (!document.getElementById("composer")) return;
    document.body.classList.remove("dragging-file");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      event.preventDefault();
      uploadAll(event.dataTransfer.files);
    }
  });

  // Deleting a conversation asks first.
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
