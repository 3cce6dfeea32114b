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
        if (response.ok) item.remove();
        else status("The image could not be removed. Reload the page and try again.");
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
