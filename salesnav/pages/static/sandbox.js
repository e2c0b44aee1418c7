// The sandbox chat: renders what the WeCom emulator delivered to one member and sends the
// member's actions (menu, card buttons, text, voice, photo, file) to /sandbox/api/*, where they
// become signed and encrypted WeCom callbacks. A tap on a card's body opens its card_action url
// (type 1), as WeCom does. Plain DOM, no framework, no CDN.
(function () {
  "use strict";

  var root = document.getElementById("sandbox");
  var chat = document.getElementById("chat");
  var toast = document.getElementById("toast");
  var member = root.dataset.as;
  var lastSnapshot = "";
  var choices = {}; // task_id -> the option chosen in the card's drop-down
  var POLL_MS = 1200;
  var BUTTON_STYLES = { 1: "primary", 2: "plain", 3: "danger", 4: "plain" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function showError(message) {
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(function () { toast.hidden = true; }, 4000);
  }

  function post(path, body, isForm) {
    var options = { method: "POST", body: isForm ? body : JSON.stringify(body) };
    if (!isForm) options.headers = { "Content-Type": "application/json" };
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.message || "发送失败（HTTP " + response.status + "）");
        return data;
      });
    }).then(function (data) { refresh(); return data; }, function (error) { showError(error.message); throw error; });
  }

  // --- rendering -------------------------------------------------------------------------------

  function renderMarkdown(text) {
    // WeCom markdown: keep it readable as plain text (bold markers and <font> tags removed).
    return text.replace(/<\/?font[^>]*>/g, "").replace(/\*\*(.+?)\*\*/g, "$1").replace(/^>\s?/gm, "");
  }

  function appendMarkdown(parent, text) {
    // Links [title](https://...) become real links, as WeCom shows them; everything else stays text (no markup injection).
    var pattern = /\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, last = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", "sb-link", match[1]);
      link.href = match[2];
      link.target = "_blank";
      link.rel = "noopener";
      parent.appendChild(link);
      last = pattern.lastIndex;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function cardLink(card) {
    // WeCom opens card_action.url when the card's body is tapped (type 1); type 2 is a mini-program page.
    var action = card.card_action || {};
    var url = String(action.url || "");
    return Number(action.type) === 1 && /^https?:\/\//i.test(url) ? url : "";
  }

  function renderCard(card, updated, taps) {
    var box = el("div", "sb-card");
    box.dataset.task = card.task_id || "";
    var link = cardLink(card);
    if (link) {
      box.classList.add("sb-card-link");
      box.dataset.url = link;
      box.tabIndex = 0;
      box.title = "点卡片打开：" + link;
      var open = function () { window.open(link, "_blank", "noopener"); };
      box.addEventListener("click", function (event) {
        // Buttons, the drop-down and links inside the card do their own thing, as in WeCom.
        if (event.target.closest("button, select, label, a")) return;
        open();
      });
      box.addEventListener("keydown", function (event) {
        if (event.target === box && event.key === "Enter") open();
      });
    }
    if (card.source && card.source.desc) box.appendChild(el("div", "sb-card-source", card.source.desc));
    var title = card.main_title || {};
    if (title.title) box.appendChild(el("div", "sb-card-title", title.title));
    if (title.desc) box.appendChild(el("div", "sb-card-desc", title.desc));
    var quote = card.quote_area;
    if (quote && (quote.title || quote.quote_text)) {
      var q = el("div", "sb-card-quote");
      if (quote.title) q.appendChild(el("div", "sb-card-quote-title", quote.title));
      if (quote.quote_text) q.appendChild(el("div", "sb-card-quote-text", quote.quote_text));
      box.appendChild(q);
    }
    if (card.sub_title_text) box.appendChild(el("div", "sb-card-sub", card.sub_title_text));
    (card.horizontal_content_list || []).forEach(function (row) {
      var line = el("div", "sb-card-row");
      line.appendChild(el("span", "sb-card-key", row.keyname));
      line.appendChild(el("span", "sb-card-value", row.value));
      box.appendChild(line);
    });
    var selection = card.button_selection;
    var select = null;
    if (selection && !card.replaced_by) {
      var label = el("label", "sb-card-select");
      label.appendChild(el("span", null, selection.title || "请选择"));
      select = el("select");
      select.dataset.question = selection.question_key;
      var chosen = choices[card.task_id] || selection.selected_id;
      (selection.option_list || []).forEach(function (option) {
        var opt = el("option", null, option.text);
        opt.value = option.id;
        if (option.id === chosen) opt.selected = true;
        select.appendChild(opt);
      });
      select.addEventListener("change", function () { choices[card.task_id] = select.value; });
      label.appendChild(select);
      box.appendChild(label);
    }
    if (card.replaced_by) {
      box.appendChild(el("div", "sb-card-done", card.replaced_by));
    } else if ((card.button_list || []).length) {
      var buttons = el("div", "sb-card-buttons");
      card.button_list.forEach(function (b) {
        var button = el("button", "sb-card-button " + (BUTTON_STYLES[b.style] || "plain"), b.text);
        button.type = "button";
        button.addEventListener("click", function () {
          var selected = {};
          if (select) selected[select.dataset.question] = [select.value];
          button.disabled = true;
          post("/sandbox/api/tap", { as: member, task_id: card.task_id, key: b.key, selected: selected })
            .catch(function () { button.disabled = false; });
        });
        buttons.appendChild(button);
      });
      box.appendChild(buttons);
    }
    if (taps && taps.length) box.appendChild(el("div", "sb-card-taps", "我点了：" + taps.join(" → ")));
    if (updated) box.appendChild(el("div", "sb-card-updated", "卡片已更新"));
    return box;
  }

  function renderMine(item) {
    var bubble = el("div", "sb-bubble");
    if (item.kind === "menu") {
      bubble.classList.add("sb-action");
      bubble.textContent = "点击菜单「" + item.text + "」";
    } else if (item.kind === "tap") {
      bubble.classList.add("sb-action");
      bubble.textContent = "点了卡片按钮「" + item.text + "」";
    } else if (item.kind === "image" && item.media_url) {
      var img = el("img", "sb-photo");
      img.src = item.media_url;
      img.alt = "我发送的图片";
      bubble.appendChild(img);
    } else if (item.kind === "voice") {
      bubble.textContent = "🎤 语音消息";
    } else if (item.kind === "file") {
      bubble.classList.add("sb-file");
      var file = el("a", "sb-file-link");
      file.href = item.media_url || "#";
      file.download = item.text || "";
      file.appendChild(el("span", "sb-file-icon", "📄"));
      var meta = el("span", "sb-file-meta");
      meta.appendChild(el("span", "sb-file-name", item.text));
      if (item.size) meta.appendChild(el("span", "sb-file-size", item.size));
      file.appendChild(meta);
      bubble.appendChild(file);
    } else {
      bubble.textContent = item.text;
    }
    return bubble;
  }

  function renderBot(item) {
    if (item.kind === "template_card") return renderCard(item.card || {}, item.updated, item.taps);
    var bubble = el("div", "sb-bubble");
    if (item.kind === "text") bubble.textContent = item.text;
    else if (item.kind === "markdown") appendMarkdown(bubble, renderMarkdown(item.text || ""));
    else if (item.kind === "textcard") {
      bubble.classList.add("sb-textcard");
      bubble.appendChild(el("div", "sb-card-title", item.title));
      var desc = el("div", "sb-card-desc");
      // WeCom textcard descriptions are tiny HTML; shown as text so a customer's name can never inject markup.
      desc.textContent = (item.description || "").replace(/<br\s*\/?>/gi, "\n").replace(/<[^>]+>/g, "");
      bubble.appendChild(desc);
      var link = el("a", null, item.btntxt || "详情");
      link.href = item.url;
      link.target = "_blank";
      bubble.appendChild(link);
    } else if (item.kind === "image") {
      var img = el("img", "sb-photo");
      img.src = item.media_url;
      img.alt = "机器人发送的图片";
      bubble.appendChild(img);
    } else if (item.kind === "voice" || item.kind === "file") {
      var a = el("a", null, item.kind === "voice" ? "🎤 语音消息（下载）" : "📄 文件（下载）");
      a.href = item.media_url;
      bubble.appendChild(a);
    } else bubble.textContent = item.text || "";
    return bubble;
  }

  function render(items) {
    var nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    var hint = chat.querySelector(".sb-hint");
    chat.textContent = "";
    if (!items.length && hint) chat.appendChild(hint);
    items.forEach(function (item) {
      if (item.side === "system") {
        chat.appendChild(el("div", "sb-system", item.text));
        return;
      }
      var row = el("div", "sb-row " + (item.side === "me" ? "sb-me" : "sb-bot"));
      row.dataset.side = item.side;
      row.dataset.kind = item.kind;
      var avatar = el("div", "sb-avatar", item.side === "me" ? "我" : "导");
      row.appendChild(avatar);
      row.appendChild(item.side === "me" ? renderMine(item) : renderBot(item));
      chat.appendChild(row);
    });
    if (nearBottom || render.first) chat.scrollTop = chat.scrollHeight;
    render.first = false;
  }
  render.first = true;

  function refresh() {
    if (!member) return Promise.resolve();
    return fetch("/sandbox/api/chat?as=" + encodeURIComponent(member))
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var snapshot = JSON.stringify(data.items || []);
        if (snapshot !== lastSnapshot) {
          lastSnapshot = snapshot;
          render(data.items || []);
        }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  // --- the member's actions --------------------------------------------------------------------

  document.getElementById("member").addEventListener("change", function (event) {
    window.location.search = "?as=" + encodeURIComponent(event.target.value);
  });

  document.getElementById("compose").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("text");
    var content = input.value.trim();
    if (!content) return;
    input.value = "";
    post("/sandbox/api/text", { as: member, content: content }).catch(function () { input.value = content; });
  });

  document.getElementById("attach").addEventListener("click", function () {
    var panel = document.getElementById("attach-panel");
    panel.hidden = !panel.hidden;
  });

  function upload(input, kind) {
    input.addEventListener("change", function () {
      if (!input.files.length) return;
      var chosen = input.files[0];
      var most = Number(input.dataset.maxBytes || 0);
      if (kind === "file" && most && chosen.size > most) {
        // Said here, before uploading it; the server says the same.
        input.value = "";
        showError("文件太大（最大 " + Math.round(most / 1048576) + " MB）");
        return;
      }
      var form = new FormData();
      form.append("as", member);
      form.append("kind", kind);
      form.append("file", chosen);
      input.value = "";
      document.getElementById("attach-panel").hidden = true;
      post("/sandbox/api/media", form, true).catch(function () {});
    });
  }
  upload(document.getElementById("voice-file"), "voice");
  upload(document.getElementById("image-file"), "image");
  upload(document.getElementById("file-file"), "file");

  document.querySelectorAll(".sb-menu-item").forEach(function (item) {
    item.addEventListener("click", function () {
      if (item.dataset.toggle) {
        var sub = document.getElementById(item.dataset.toggle);
        sub.hidden = !sub.hidden;
        return;
      }
      document.querySelectorAll(".sb-submenu").forEach(function (s) { s.hidden = true; });
      post("/sandbox/api/menu", { as: member, key: item.dataset.key }).catch(function () {});
    });
  });

  refresh();
  setInterval(refresh, POLL_MS);
})();
