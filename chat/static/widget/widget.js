/*! Botwright website widget. One tag puts a bot on any site:
 *   <script src="https://BOTWRIGHT_HOST/widget.js" data-bot="PUBLIC_ID" async></script>
 * Optional data-api="https://BOTWRIGHT_HOST" when the API lives elsewhere than the script.
 *
 * Contract, kept on purpose:
 * - It talks to the public API only (/api/public/...), with credentials omitted: a visitor's
 *   Botwright session cookie never rides along from a customer's page.
 * - Server text (answers, greetings, document snippets) becomes DOM text nodes through
 *   textContent; links are built element by element and only for http(s). Nothing is parsed as HTML.
 * - The visitor's token travels in the X-Visitor-Id header, never in a URL, and is kept in this
 *   page's localStorage per bot together with the current conversation.
 * - Everything lives in an open shadow root: the host page's CSS cannot break it, it cannot break
 *   the host page, and tests and assistive tools can still reach it.
 */
(function () {
  "use strict";

  var WIDGET_RE = /\/(?:static\/widget\/)?widget(?:\.[0-9a-f]{6,})?\.js(?:[?#].*)?$/;
  var script = document.currentScript;
  if (!script || !script.getAttribute("data-bot")) {
    var candidates = document.querySelectorAll("script[data-bot]");
    script = null;
    for (var i = 0; i < candidates.length; i++) {
      if (WIDGET_RE.test(candidates[i].src) && !candidates[i].hasAttribute("data-botwright-started")) {
        script = candidates[i];
      }
    }
  }
  if (!script) return;
  script.setAttribute("data-botwright-started", "");
  var botId = script.getAttribute("data-bot") || "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(botId)) {
    console.warn("Botwright widget: set data-bot to the bot's public id (e.g. data-bot=\"b_...\").");
    return;
  }
  var api = (script.getAttribute("data-api") || script.src.replace(WIDGET_RE, "")).replace(/\/+$/, "");
  if (document.querySelector('botwright-chat[data-bot="' + botId + '"]')) return; // pasted twice

  var SVG = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    restart: "M12 5v14M5 12h14",
    send: "M4 12l16-8-6 16-2-6-8-2z",
    up: "M7 11v9H4v-9h3zm2 9h8.3a2 2 0 0 0 2-1.6l1.4-6A2 2 0 0 0 18.7 10H14l.8-4a1.8 1.8 0 0 0-3.3-1.3L9 10v10z",
    down: "M7 13V4H4v9h3zm2-9h8.3a2 2 0 0 1 2 1.6l1.4 6A2 2 0 0 1 18.7 14H14l.8 4a1.8 1.8 0 0 1-3.3 1.3L9 14V4z"
  };
  var TEXT = {
    notHere: "This chat isn't available on this site.",
    offline: "Can't reach the chat service right now. Check your connection and try again.",
    inactive: "This chat isn't available right now.",
    unavailable: "The assistant can't answer right now. Please try again in a moment.",
    tooLong: "That message is too long to send. Please shorten it and try again.",
    failed: "Something went wrong. Please try again.",
    invalid: "That message couldn't be sent. Please rephrase it and try again.",
    cut: "The answer was interrupted. Please ask again.",
    feedbackFailed: "Your feedback couldn't be saved. Please try again."
  };

  // --- Storage: the visitor and their conversation, per bot, in this site's localStorage -------
  var storeKey = "botwright:" + botId;
  var state = (function () {
    try {
      var saved = JSON.parse(window.localStorage.getItem(storeKey) || "{}");
      return saved && typeof saved === "object" ? saved : {};
    } catch (e) {
      return {}; // storage blocked (privacy settings): the widget still works for this page view
    }
  })();
  function remember(changes) {
    for (var key in changes) state[key] = changes[key];
    try {
      window.localStorage.setItem(
        storeKey,
        JSON.stringify({ visitor_id: state.visitor_id || "", conversation_id: state.conversation_id || "" })
      );
    } catch (e) {
      /* not persisted; nothing else to do */
    }
  }

  // --- HTTP ---------------------------------------------------------------------------------------
  function request(path, options) {
    options = options || {};
    var headers = {};
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.visitor && state.visitor_id) headers["X-Visitor-Id"] = state.visitor_id;
    return fetch(api + path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "omit",
      mode: options.mode || "cors"
    });
  }
  function readJson(response) {
    return response.json().catch(function () {
      return {};
    });
  }
  // A refused CORS request and a dead network look alike to a page; a no-cors request (which
  // carries no Origin) reaches a running server either way, so it tells the two apart.
  function reachable() {
    return request("/api/public/bots/" + botId + "/", { mode: "no-cors" }).then(
      function () {
        return true;
      },
      function () {
        return false;
      }
    );
  }
  function fieldMessage(body) {
    // Both error shapes: {detail, errors: {field: [..]}} and {field: [..]}.
    var errors = body && body.errors && typeof body.errors === "object" ? body.errors : body || {};
    for (var key in errors) {
      var messages = errors[key];
      if (Array.isArray(messages) && typeof messages[0] === "string") return messages[0];
    }
    return body && typeof body.detail === "string" ? body.detail : "";
  }
  // What a visitor reads for a failed request: our own words, never a raw body.
  function problem(status, body, retryAfter) {
    if (status === 429) {
      var seconds = parseInt(retryAfter, 10);
      return { text: "", wait: seconds > 0 ? Math.min(seconds, 3600) : 30 };
    }
    if (status === 413) return { text: TEXT.tooLong };
    if (status === 403) return { text: body && body.code === "bot_inactive" ? TEXT.inactive : TEXT.notHere };
    if (status === 400) return { text: fieldMessage(body) || TEXT.invalid };
    if (status === 503) return { text: TEXT.unavailable };
    return { text: TEXT.failed };
  }

  // Server-sent events over fetch: calls onEvent(name, data) per event; resolves at the end.
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return;
      try {
        onEvent(name, JSON.parse(data.join("\n")));
      } catch (e) {
        /* a malformed event is skipped; the done event decides the outcome */
      }
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer = (buffer + decoder.decode(chunk.value, { stream: true })).replace(/\r\n/g, "\n");
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  // --- DOM helpers ------------------------------------------------------------------------------
  var uid = 0;
  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    return node;
  }
  function text(tag, className, value, attrs) {
    var node = el(tag, className, attrs);
    node.textContent = value;
    return node;
  }
  function icon(name) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }
  function safeUrl(value) {
    try {
      var url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  // The Markdown subset answers use: **bold**, - / 1. lists, [text](http...) and bare links,
  // and [n] citation markers. Each piece is an element whose text is set with textContent.
  var INLINE = /\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()"']*[^\s<>()"'.,;:!?])|\[(\d{1,2})\]/g;
  function inline(parent, source) {
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(source))) {
      if (match.index > last) parent.appendChild(document.createTextNode(source.slice(last, match.index)));
      if (match[1] !== undefined) {
        parent.appendChild(text("strong", "", match[1]));
      } else if (match[2] !== undefined || match[4] !== undefined) {
        var href = safeUrl(match[3] || match[4]);
        var label = match[2] !== undefined ? match[2] : match[4];
        if (href) {
          parent.appendChild(text("a", "", label, { href: href, target: "_blank", rel: "noopener nofollow" }));
        } else {
          parent.appendChild(document.createTextNode(label));
        }
      } else {
        parent.appendChild(text("sup", "cite", "[" + match[5] + "]"));
      }
      last = INLINE.lastIndex;
    }
    if (last < source.length) parent.appendChild(document.createTextNode(source.slice(last)));
  }
  function renderMarkdown(container, source) {
    container.textContent = "";
    var list = null;
    var paragraph = null;
    String(source || "")
      .split("\n")
      .forEach(function (line) {
        var item = /^\s*([-*\u2022]|\d{1,3}[.)])\s+(.*)$/.exec(line);
        if (item) {
          var tag = /\d/.test(item[1]) ? "OL" : "UL";
          if (!list || list.tagName !== tag) list = container.appendChild(el(tag.toLowerCase()));
          inline(list.appendChild(el("li")), item[2]);
          paragraph = null;
          return;
        }
        list = null;
        if (!line.trim()) {
          paragraph = null;
          return;
        }
        if (paragraph) paragraph.appendChild(el("br"));
        else paragraph = container.appendChild(el("p"));
        inline(paragraph, line);
      });
  }

  function contrastText(hex) {
    var n = parseInt(hex.slice(1), 16);
    var channel = function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    var luminance = 0.2126 * channel(n >> 16) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
    return luminance > 0.179 ? "#111827" : "#ffffff";
  }
  function initialsOf(name) {
    return (
      String(name || "")
        .split(/\s+/)
        .filter(Boolean)
        .slice(0, 2)
        .map(function (word) {
          return word.charAt(0).toUpperCase();
        })
        .join("") || "?"
    );
  }

  var CSS =
    ":host{all:initial!important}" +
    "*{box-sizing:border-box}" +
    ".root{--accent:#2f6f8f;--on-accent:#fff;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933}" +
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;" +
    "min-height:56px;min-width:56px;padding:0 16px;border:0;border-radius:28px;background:var(--accent);color:var(--on-accent);" +
    "font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25);transition:transform .15s}" +
    ".launcher:hover{transform:scale(1.05)}.left .launcher{right:auto;left:20px}" +
    ".launcher svg{width:26px;height:26px;fill:currentColor}.launcher:focus-visible,button:focus-visible,a:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".panel{position:fixed;bottom:88px;right:20px;z-index:2147483001;width:380px;max-width:calc(100vw - 40px);height:560px;" +
    "max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;" +
    "box-shadow:0 8px 32px rgba(0,0,0,.25);animation:bw-in .18s ease-out}" +
    ".left .panel{right:auto;left:20px}.panel[hidden]{display:none}" +
    "@keyframes bw-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}" +
    "header{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--accent);color:var(--on-accent)}" +
    "header h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".avatar{flex:none;width:34px;height:34px;border-radius:50%;display:flex;align-items:center;justify-content:center;" +
    "background:rgba(255,255,255,.25);font-weight:700;font-size:13px;overflow:hidden}.avatar img{width:100%;height:100%;object-fit:cover}" +
    "header button{border:0;background:transparent;color:inherit;font:inherit;font-size:13px;cursor:pointer;border-radius:6px;padding:6px 8px}" +
    "header button:hover{background:rgba(255,255,255,.18)}header svg{width:18px;height:18px;stroke:currentColor;stroke-width:2.4;fill:none;display:block}" +
    ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f7f9fb}" +
    ".msg{max-width:88%;padding:9px 12px;border-radius:12px;overflow-wrap:anywhere}" +
    ".msg p{margin:0 0 6px}.msg p:last-child{margin:0}.msg ul,.msg ol{margin:4px 0 6px;padding-left:20px}" +
    ".msg a{color:inherit;text-decoration:underline}" +
    ".user{align-self:flex-end;background:var(--accent);color:var(--on-accent);border-bottom-right-radius:4px;white-space:pre-wrap}" +
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e4e7eb;border-bottom-left-radius:4px}" +
    ".bot.fallback{background:#fff8eb;border-color:#f3d9a4}.bot.error{background:#fdf0f0;border-color:#f1c4c4;color:#8a1c1c}" +
    ".cite{font-size:11px;color:#52606d;margin-left:1px}" +
    ".typing span{display:inline-block;width:7px;height:7px;margin-right:4px;border-radius:50%;background:#9aa5b1;animation:bw-dot 1s infinite}" +
    ".typing span:nth-child(2){animation-delay:.15s}.typing span:nth-child(3){animation-delay:.3s}" +
    "@keyframes bw-dot{0%,80%,100%{opacity:.3}40%{opacity:1}}" +
    ".sources{margin-top:8px;border-top:1px solid #eef0f2;padding-top:6px;font-size:12.5px}" +
    ".sources h3{margin:0 0 4px;font-size:12px;font-weight:600;color:#52606d}" +
    ".sources ol{margin:0;padding-left:18px}.sources li{margin:2px 0}" +
    ".source{border:0;background:none;padding:0;color:#2f5f8a;font:inherit;text-align:left;vertical-align:top;cursor:pointer;text-decoration:underline dotted}" +
    ".snippet{margin:4px 0 6px;padding:6px 8px;background:#f1f4f7;border-left:3px solid var(--accent);border-radius:4px;color:#3e4c59}" +
    ".rate{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:8px}" +
    ".rate>button{display:flex;border:1px solid #cbd2d9;background:#fff;border-radius:6px;padding:4px 7px;cursor:pointer;color:#52606d}" +
    ".rate>button svg{width:16px;height:16px;fill:currentColor}" +
    ".rate>button[aria-pressed=true]{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}" +
    ".rate form{display:flex;gap:6px;width:100%}.rate textarea{flex:1;min-height:34px;font:inherit;font-size:13px;padding:5px 7px;border:1px solid #cbd2d9;border-radius:6px;resize:vertical}" +
    ".rate form button,.chips button{border:1px solid var(--accent);background:#fff;color:#1f2933;border-radius:16px;padding:5px 11px;font:inherit;font-size:13px;cursor:pointer}" +
    ".thanks{font-size:12.5px;color:#52606d}" +
    ".chips{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px 10px;background:#f7f9fb}.chips[hidden]{display:none}" +
    ".notice{padding:8px 14px;font-size:13px;color:#8a1c1c;background:#fdf0f0;border-top:1px solid #f1c4c4}.notice:empty{display:none}" +
    "form.ask{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e7eb;background:#fff}" +
    "form.ask textarea{flex:1;resize:none;max-height:120px;min-height:40px;padding:9px 10px;border:1px solid #cbd2d9;border-radius:10px;font:inherit}" +
    "form.ask button{flex:none;width:42px;border:0;border-radius:10px;background:var(--accent);color:var(--on-accent);cursor:pointer}" +
    "form.ask button svg{width:20px;height:20px;fill:currentColor;display:block;margin:auto}" +
    "form.ask button:disabled,form.ask textarea:disabled{opacity:.5;cursor:not-allowed}" +
    ".sr-only{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);border:0;white-space:nowrap}" +
    "@media (max-width:480px){.panel,.left .panel{inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}" +
    ".open .launcher{display:none}}" +
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}";

  // --- The widget ---------------------------------------------------------------------------------
  function mount(profile, unavailable) {
    var host = document.createElement("botwright-chat");
    host.setAttribute("data-bot", botId);
    var shadow = host.attachShadow({ mode: "open" });
    if (shadow.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      // A constructed sheet is not an inline <style>: a host page's CSP without 'unsafe-inline' allows it.
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.appendChild(text("style", "", CSS));
    }
    profile = profile || {};
    var name = profile.name || "Chat";
    var root = el("div", "root" + (profile.position === "left" ? " left" : ""));
    if (/^#[0-9a-fA-F]{6}$/.test(profile.theme_color || "")) {
      root.style.setProperty("--accent", profile.theme_color);
      root.style.setProperty("--on-accent", contrastText(profile.theme_color));
    }
    shadow.appendChild(root);

    var launcher = el("button", "launcher", {
      type: "button",
      "aria-label": "Open chat with " + name,
      "aria-expanded": "false",
      "aria-controls": "bw-panel",
      "aria-haspopup": "dialog"
    });
    launcher.appendChild(icon("chat"));
    if (profile.launcher_text) launcher.appendChild(text("span", "", profile.launcher_text));
    root.appendChild(launcher);

    var panel = el("div", "panel", {
      id: "bw-panel",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "bw-title"
    });
    panel.hidden = true;
    var header = el("header");
    var avatar = el("div", "avatar", { "aria-hidden": "true" });
    var avatarUrl = safeUrl(profile.avatar_url || "");
    if (avatarUrl) avatar.appendChild(el("img", "", { src: avatarUrl, alt: "" }));
    else avatar.textContent = profile.initials || initialsOf(name);
    header.appendChild(avatar);
    header.appendChild(text("h2", "", name, { id: "bw-title" }));
    var restart = el("button", "", { type: "button", "aria-label": "New conversation", title: "New conversation" });
    restart.appendChild(icon("restart"));
    var close = el("button", "", { type: "button", "aria-label": "Close chat", title: "Close" });
    close.appendChild(icon("close"));
    header.appendChild(restart);
    header.appendChild(close);
    panel.appendChild(header);

    var log = el("div", "log", { role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    panel.appendChild(log);
    var chips = el("div", "chips", { role: "group", "aria-label": "Suggested questions" });
    panel.appendChild(chips);
    var notice = el("div", "notice", { role: "status", "aria-live": "polite" });
    panel.appendChild(notice);
    var form = el("form", "ask");
    var input = el("textarea", "", {
      id: "bw-input",
      rows: "1",
      maxlength: String(profile.message_max_chars || 4000),
      placeholder: "Ask a question…",
      autocomplete: "off"
    });
    var send = el("button", "", { type: "submit", "aria-label": "Send" });
    send.appendChild(icon("send"));
    form.appendChild(text("label", "sr-only", "Your question", { for: "bw-input" }));
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(form);
    root.appendChild(panel);
    document.body.appendChild(host);

    var busy = false;
    var waitUntil = 0;
    var waitTimer = null;
    var historyLoaded = false;

    function scrollDown() {
      log.scrollTop = log.scrollHeight;
    }
    function say(className, value, before) {
      var node = text("div", "msg " + className, value);
      log.insertBefore(node, before || null);
      scrollDown();
      return node;
    }
    function setEnabled() {
      var blocked = !!unavailable || busy || Date.now() < waitUntil;
      input.disabled = !!unavailable;
      send.disabled = blocked;
      restart.disabled = busy || !!unavailable;
      chips.querySelectorAll("button").forEach(function (b) {
        b.disabled = blocked;
      });
    }
    function startWait(seconds) {
      waitUntil = Date.now() + seconds * 1000;
      clearInterval(waitTimer);
      var tick = function () {
        var left = Math.ceil((waitUntil - Date.now()) / 1000);
        if (left <= 0) {
          clearInterval(waitTimer);
          notice.textContent = "";
        } else {
          notice.textContent =
            "You're sending messages quickly. Please wait " + left + " second" + (left === 1 ? "" : "s") + ".";
        }
        setEnabled();
      };
      tick();
      waitTimer = setInterval(tick, 1000);
    }

    function greet() {
      log.textContent = "";
      if (profile.greeting) renderMarkdown(say("bot greeting", ""), profile.greeting);
      chips.textContent = "";
      (profile.suggested_questions || []).slice(0, 4).forEach(function (question) {
        var chip = text("button", "", question, { type: "button" });
        chip.addEventListener("click", function () {
          ask(question);
        });
        chips.appendChild(chip);
      });
      chips.hidden = !chips.childNodes.length;
      setEnabled();
    }

    function showSources(bubble, sources) {
      if (profile.show_sources === false || !sources || !sources.length) return;
      var box = el("div", "sources");
      box.appendChild(text("h3", "", "Sources"));
      var list = el("ol");
      sources.forEach(function (source) {
        var item = el("li");
        var snippetId = "bw-snippet-" + ++uid;
        var label = (source.title || "Document") + (source.pages ? ", p. " + source.pages : "");
        var button = text("button", "source", label, {
          type: "button",
          "aria-expanded": "false",
          "aria-controls": snippetId
        });
        var snippet = text("div", "snippet", source.snippet || "", { id: snippetId });
        snippet.hidden = true;
        var pinned = false;
        var show = function (visible) {
          snippet.hidden = !visible;
          button.setAttribute("aria-expanded", String(visible));
        };
        button.addEventListener("click", function () {
          pinned = !pinned;
          show(pinned);
        });
        button.addEventListener("mouseenter", function () {
          show(true);
        });
        button.addEventListener("mouseleave", function () {
          show(pinned);
        });
        item.appendChild(button);
        item.appendChild(snippet);
        list.appendChild(item);
      });
      box.appendChild(list);
      bubble.appendChild(box);
    }

    function showRating(bubble, messageId, current) {
      var box = el("div", "rate", { role: "group", "aria-label": "Rate this answer" });
      var buttons = {};
      var rating = current || "";
      function post(body, onDone) {
        return request("/api/public/messages/" + messageId + "/feedback/", {
          method: "POST",
          body: body,
          visitor: true
        })
          .then(function (response) {
            return readJson(response).then(function () {
              if (!response.ok) throw new Error(String(response.status));
              onDone();
            });
          })
          .catch(function () {
            notice.textContent = TEXT.feedbackFailed;
          });
      }
      ["up", "down"].forEach(function (value) {
        var button = el("button", "", {
          type: "button",
          "aria-label": value === "up" ? "Helpful" : "Not helpful",
          "aria-pressed": String(rating === value)
        });
        button.appendChild(icon(value));
        button.addEventListener("click", function () {
          post({ rating: value }, function () {
            rating = value;
            buttons.up.setAttribute("aria-pressed", String(value === "up"));
            buttons.down.setAttribute("aria-pressed", String(value === "down"));
            notice.textContent = "";
            askComment();
          });
        });
        buttons[value] = button;
        box.appendChild(button);
      });
      function askComment() {
        var old = box.querySelector("form, .thanks");
        if (old) old.remove();
        var commentForm = el("form");
        var commentId = "bw-comment-" + ++uid;
        commentForm.appendChild(text("label", "sr-only", "Tell us more (optional)", { for: commentId }));
        var comment = el("textarea", "", {
          id: commentId,
          maxlength: "2000",
          rows: "1",
          placeholder: "Tell us more…"
        });
        commentForm.appendChild(comment);
        commentForm.appendChild(text("button", "", "Send feedback", { type: "submit" }));
        commentForm.addEventListener("submit", function (event) {
          event.preventDefault();
          post({ rating: rating, comment: comment.value.trim() }, function () {
            commentForm.replaceWith(text("span", "thanks", "Thanks for your feedback!", { role: "status" }));
          });
        });
        box.appendChild(commentForm);
        commentForm.scrollIntoView({ block: "nearest" });
      }
      bubble.appendChild(box);
    }

    function showAnswer(bubble, message) {
      bubble.className = "msg bot" + (message.unanswered ? " fallback" : "");
      bubble.removeAttribute("aria-busy");
      renderMarkdown(bubble, message.content);
      showSources(bubble, message.sources);
      if (message.id) showRating(bubble, message.id, message.rating);
    }

    function fail(bubble, outcome) {
      bubble.removeAttribute("aria-busy");
      if (outcome.wait) {
        bubble.remove();
        startWait(outcome.wait);
        return;
      }
      bubble.className = "msg bot error";
      bubble.textContent = outcome.text;
    }

    function typing(bubble) {
      bubble.textContent = "";
      var dots = el("span", "typing", { "aria-label": "Typing" });
      dots.appendChild(el("span"));
      dots.appendChild(el("span"));
      dots.appendChild(el("span"));
      bubble.appendChild(dots);
    }

    function ask(question) {
      question = String(question || "").trim();
      if (!question || busy || unavailable || Date.now() < waitUntil) return;
      busy = true;
      setEnabled();
      chips.hidden = true;
      notice.textContent = "";
      say("user", question);
      var bubble = say("bot", "");
      bubble.setAttribute("aria-busy", "true"); // screen readers wait for the whole answer
      typing(bubble);
      exchange(question, bubble, true)
        .catch(function () {
          fail(bubble, { text: TEXT.offline });
        })
        .then(function () {
          busy = false;
          setEnabled();
        });
    }

    function exchange(question, bubble, mayRestart) {
      var body = { message: question, stream: !!(window.ReadableStream && window.TextDecoder) };
      var continuing = !!(state.conversation_id && state.visitor_id);
      if (continuing) body.conversation_id = state.conversation_id;
      function done(result) {
        remember({ visitor_id: result.visitor_id || state.visitor_id, conversation_id: result.conversation_id });
        showAnswer(bubble, {
          id: result.message_id,
          content: result.answer,
          sources: result.sources,
          unanswered: result.unanswered
        });
        scrollDown();
      }
      return request("/api/public/bots/" + botId + "/chat/", { method: "POST", body: body, visitor: true }).then(
        function (response) {
          if (!response.ok) {
            return readJson(response).then(function (error) {
              if (response.status === 404 && continuing && mayRestart) {
                // The conversation is gone (deleted, or the data was reset): start a new one.
                remember({ conversation_id: "" });
                return exchange(question, bubble, false);
              }
              fail(bubble, problem(response.status, error, response.headers.get("Retry-After")));
            });
          }
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("text/event-stream") !== 0 || !response.body || !response.body.getReader) {
            return readJson(response).then(done);
          }
          var partial = "";
          var result = null;
          var error = null;
          return readEvents(response, function (name, data) {
            if (name === "token" && data && typeof data.text === "string") {
              partial += data.text;
              renderMarkdown(bubble, partial);
              scrollDown();
            } else if (name === "done") {
              result = data;
            } else if (name === "error") {
              error = data;
            }
          }).then(function () {
            // An error withdraws what was streamed; a stream cut short is said so.
            if (error) fail(bubble, problem(503, error));
            else if (result) done(result);
            else fail(bubble, { text: TEXT.cut });
          });
        }
      );
    }

    function loadHistory() {
      historyLoaded = true;
      if (!state.conversation_id || !state.visitor_id) return;
      var path = "/api/public/bots/" + botId + "/conversations/" + encodeURIComponent(state.conversation_id) + "/";
      log.setAttribute("aria-busy", "true"); // the restored history is not news to announce piece by piece
      // History goes where the log stood when it was asked for, before anything asked meanwhile.
      var anchor = log.appendChild(document.createComment("history"));
      request(path, { visitor: true })
        .then(function (response) {
          if (response.status === 404 || response.status === 400) {
            remember({ conversation_id: "" });
            return;
          }
          if (!response.ok) return;
          return response.json().then(function (conversation) {
            if (anchor.parentNode !== log) return; // the visitor started a new conversation meanwhile
            var messages = conversation.messages || [];
            if (messages.length) chips.hidden = true;
            messages.forEach(function (message) {
              if (message.role === "user") say("user", message.content, anchor);
              else if (message.role === "assistant") showAnswer(say("bot", "", anchor), message);
            });
            scrollDown();
          });
        })
        .catch(function () {
          notice.textContent = TEXT.offline;
        })
        .then(function () {
          log.removeAttribute("aria-busy");
          anchor.remove();
        });
    }

    function focusables() {
      return Array.prototype.filter.call(
        panel.querySelectorAll("button, textarea, a[href], [tabindex]:not([tabindex='-1'])"),
        function (node) {
          return !node.disabled && node.getClientRects().length > 0;
        }
      );
    }
    function open() {
      panel.hidden = false;
      root.classList.add("open");
      launcher.setAttribute("aria-expanded", "true");
      launcher.setAttribute("aria-label", "Close chat with " + name);
      if (unavailable) notice.textContent = TEXT[unavailable];
      else if (!historyLoaded) loadHistory();
      setEnabled();
      (input.disabled ? close : input).focus();
    }
    function hide() {
      panel.hidden = true;
      root.classList.remove("open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-label", "Open chat with " + name);
      launcher.focus();
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden) open();
      else hide();
    });
    close.addEventListener("click", hide);
    restart.addEventListener("click", function () {
      remember({ conversation_id: "" });
      notice.textContent = "";
      greet();
      input.focus();
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        hide();
      } else if (event.key === "Tab") {
        // Focus stays in the open panel; Escape or the close button leave it.
        var items = focusables();
        if (!items.length) return;
        var current = shadow.activeElement;
        var first = items[0];
        var last = items[items.length - 1];
        if (event.shiftKey && (current === first || items.indexOf(current) < 0)) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && (current === last || items.indexOf(current) < 0)) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = input.value;
      if (!question.trim() || busy || Date.now() < waitUntil) return;
      input.value = "";
      input.style.height = "";
      ask(question);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : send.click();
      }
    });
    input.addEventListener("input", function () {
      input.style.height = "";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
    });

    greet();
  }

  function start() {
    request("/api/public/bots/" + botId + "/")
      .then(function (response) {
        if (response.ok) {
          return response.json().then(function (profile) {
            mount(profile, "");
          });
        }
        return readJson(response).then(function (body) {
          if (response.status === 403 && body.code === "bot_inactive") {
            console.info("Botwright widget: this bot is not active, so no chat is shown.");
          } else if (response.status === 404) {
            console.warn("Botwright widget: no bot has the public id " + botId + ".");
          } else {
            mount(null, response.status === 403 ? "notHere" : "offline");
          }
        });
      })
      .catch(function () {
        return reachable().then(function (up) {
          if (up) {
            console.warn(
              "Botwright widget: " + location.origin + " is not one of this bot's allowed origins; " +
                "a bot admin can add it."
            );
          }
          mount(null, up ? "notHere" : "offline");
        });
      });
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
