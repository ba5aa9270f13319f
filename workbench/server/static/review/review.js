/* The review page behind feedbackUrl: the preview in a frame, a pin layer over it, the comments beside it.
 *
 * Everything goes through the reviewers' endpoints with the link's token (X-Review-Token):
 * GET  /api/widget/feedback-sessions/{id}/comments  -> {session: {status, deploymentUrl, acceptsComments, notice}, data}
 * POST /api/widget/feedback-sessions/{id}/comments  <- {content, pagePath, selector, offsetX/Y, pinX/Y, reviewerName}
 * Whether comments are open is the server's (the domain's) answer, never decided here.
 * Positions come from the site widget in review mode inside the preview (widget.js, by postMessage);
 * a same-origin preview without it gets it injected. User text is only ever set as textContent.
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const sessionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const token = new URLSearchParams(location.search).get("token") || "";
  const api = `/api/widget/feedback-sessions/${encodeURIComponent(sessionId)}/comments`;
  const assets = document.body.dataset.assets;
  const NAME_KEY = "workbench.reviewerName";
  const REFRESH_MS = 15000;
  const LOCATE_TIMEOUT_MS = 1500;

  const state = {
    session: null,
    comments: [],
    view: null, // the agent's last report: path, scroll, sizes
    placing: false,
    pending: null, // {pagePath, selector, offsetX, offsetY, pinX, pinY}
    frameSrc: null,
    previewOrigin: null,
    basePath: "",
    locates: new Map(),
    nextLocate: 1,
  };

  const frame = $("preview");

  // --- the server -----------------------------------------------------------------------------

  async function call(method, body) {
    const response = await fetch(api, {
      method,
      headers: { "X-Review-Token": token, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (!response.ok) throw new Error(reason(response.status, payload));
    return payload;
  }

  function reason(status, payload) {
    const detail = payload && payload.detail;
    if (Array.isArray(detail)) return "Check the comment: " + detail.map((d) => d.msg).join("; ");
    if (typeof detail === "string") return detail;
    return `The server answered ${status}`;
  }

  async function refresh() {
    try {
      const payload = await call("GET");
      state.session = payload.session;
      state.comments = payload.data.slice().sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
      render();
    } catch (error) {
      showNotice(String(error.message || error), true);
    }
  }

  // --- paths: the preview's routes, relative to the deployment URL ---------------------------

  function pagePathOf(absolutePath) {
    const base = state.basePath;
    if (base && (absolutePath === base || absolutePath.startsWith(base + "/"))) {
      return absolutePath.slice(base.length) || "/";
    }
    return absolutePath || "/";
  }

  function currentPath() {
    return state.view ? pagePathOf(state.view.path) : "/";
  }

  // --- drawing --------------------------------------------------------------------------------

  function render() {
    const session = state.session;
    if (!session) return;
    const open = session.acceptsComments;
    $("status").textContent = session.status.replace("_", " ");
    $("status").dataset.status = session.status;
    const resolved = state.comments.filter((c) => c.status === "resolved").length;
    $("progress").textContent = state.comments.length ? `${resolved}/${state.comments.length} resolved` : "";
    $("add").hidden = !open;
    $("who").hidden = !open;
    if (!open) {
      stopPlacing();
      showNotice(`${session.notice || "This round takes no comments."} The page is read-only.`, false);
    } else {
      hideNotice();
    }
    renderName();
    loadFrame(session.deploymentUrl);
    renderList();
    sendAnchors();
    renderPins();
  }

  function sendAnchors() {
    const here = currentPath();
    const items = state.comments
      .filter((c) => c.selector && c.pagePath === here)
      .map((c) => ({ id: c.id, selector: c.selector, offsetX: c.offsetX, offsetY: c.offsetY }));
    post({ type: "gf-review:anchors", items });
  }

  function loadFrame(url) {
    if (!url) {
      if ($("notice").hidden) showNotice("The preview is still deploying. This page updates when it is ready.", false);
      return;
    }
    if (state.frameSrc === url) return;
    const parsed = new URL(url, location.href);
    state.frameSrc = url;
    state.previewOrigin = parsed.origin;
    state.basePath = parsed.pathname.replace(/\/+$/, "");
    frame.src = parsed.href;
  }

  function renderList() {
    const list = $("list");
    list.replaceChildren();
    state.comments.forEach((comment, index) => {
      const item = document.createElement("li");
      item.className = "comment";
      item.dataset.id = comment.id;
      item.dataset.status = comment.status;
      const number = document.createElement("span");
      number.className = "number";
      number.textContent = String(index + 1);
      const body = document.createElement("div");
      const text = document.createElement("p");
      text.className = "content";
      text.textContent = comment.content;
      const meta = document.createElement("p");
      meta.className = "meta";
      const status = document.createElement("span");
      status.className = "badge";
      status.dataset.status = comment.status;
      status.textContent = comment.status;
      const page = document.createElement("button");
      page.type = "button";
      page.className = "link page";
      page.textContent = comment.pagePath;
      page.title = "Show this page in the preview";
      page.addEventListener("click", () => showPage(comment.pagePath));
      meta.append(status, " on ", page, " · ", comment.reviewerName || "anonymous");
      body.append(text, meta);
      item.append(number, body);
      list.append(item);
    });
    $("count").textContent = state.comments.length ? `(${state.comments.length})` : "";
    $("empty").hidden = state.comments.length > 0;
  }

  // Where a pin goes in the frame: on its element (selector + offset, as the agent finds it now,
  // so pins follow a reflowed layout), else at its stored share of the page.
  function pinPosition(comment) {
    const width = frame.clientWidth;
    const height = frame.clientHeight;
    const view = state.view;
    if (!view) return { left: (comment.pinX / 100) * width, top: (comment.pinY / 100) * height };
    const anchor = comment.id && view.anchors && view.anchors[comment.id];
    if (anchor) return { left: anchor.x - view.scrollX, top: anchor.y - view.scrollY };
    return {
      left: (comment.pinX / 100) * view.docWidth - view.scrollX,
      top: (comment.pinY / 100) * view.docHeight - view.scrollY,
    };
  }

  function renderPins() {
    const layer = $("pins");
    layer.replaceChildren();
    const here = currentPath();
    const width = frame.clientWidth;
    const height = frame.clientHeight;
    const draw = (entry, number, extraClass) => {
      const { left, top } = pinPosition(entry);
      if (left < 0 || top < 0 || left > width || top > height) return;
      const pin = document.createElement("span");
      pin.className = "pin " + extraClass;
      pin.textContent = number;
      pin.style.left = `${left}px`;
      pin.style.top = `${top}px`;
      layer.append(pin);
    };
    state.comments.forEach((comment, index) => {
      if (comment.pinX == null || comment.pinY == null || comment.pagePath !== here) return;
      draw(comment, String(index + 1), comment.status === "resolved" ? "resolved" : "");
    });
    if (state.pending && state.pending.pagePath === here) draw(state.pending, "+", "pending");
  }

  function renderName() {
    const name = localStorage.getItem(NAME_KEY);
    $("who").textContent = name ? `Commenting as ${name}` : "Commenting anonymously";
  }

  function showNotice(text, isError) {
    const notice = $("notice");
    notice.textContent = text;
    notice.classList.toggle("error", Boolean(isError));
    notice.hidden = false;
  }

  function hideNotice() {
    $("notice").hidden = true;
  }

  function showPage(pagePath) {
    if (!state.frameSrc || pagePath === currentPath()) return;
    frame.src = state.previewOrigin + state.basePath + (pagePath === "/" ? "/" : pagePath);
  }

  // --- talking to the agent in the preview ----------------------------------------------------

  function frameDocument() {
    try {
      return frame.contentDocument; // null (or a throw) for a preview on another origin
    } catch {
      return null;
    }
  }

  frame.addEventListener("load", () => {
    state.view = null;
    delete $("frame-wrap").dataset.agent;
    const doc = frameDocument();
    // A same-origin preview that does not load the widget (or the older agent) gets it now; another
    // origin must load it itself.
    const win = frame.contentWindow;
    if (doc && doc.head && !win.__gfReviewAgent && !win.__gfWidget && !doc.querySelector('script[src$="/agent.js"]')) {
      const script = doc.createElement("script");
      script.src = `${location.origin}${assets}/agent.js`;
      doc.head.append(script);
    }
    post({ type: "gf-review:hello" });
    renderPins();
  });

  function post(message) {
    if (frame.contentWindow && state.previewOrigin) frame.contentWindow.postMessage(message, state.previewOrigin);
  }

  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow || !event.data || typeof event.data !== "object") return;
    const message = event.data;
    if (message.type === "gf-review:view") {
      const moved = !state.view || state.view.path !== message.path;
      state.view = message;
      $("frame-wrap").dataset.agent = "ready"; // the page in the frame answers pin requests
      if (moved) sendAnchors(); // a new page: tell the agent which comments belong to it
      renderPins();
    } else if (message.type === "gf-review:key") {
      if (message.key === "c") startPlacing();
      else if (message.key === "Escape") stopPlacing();
    } else if (message.type === "gf-review:located" && state.locates.has(message.id)) {
      state.locates.get(message.id)(message);
      state.locates.delete(message.id);
    }
  });

  function locate(x, y) {
    const id = state.nextLocate++;
    return new Promise((resolve) => {
      const fallback = setTimeout(() => {
        state.locates.delete(id);
        resolve(null);
      }, LOCATE_TIMEOUT_MS);
      state.locates.set(id, (answer) => {
        clearTimeout(fallback);
        resolve(answer);
      });
      post({ type: "gf-review:locate", id, x, y });
    });
  }

  // --- adding a comment -----------------------------------------------------------------------

  function startPlacing() {
    if (!state.session || !state.session.acceptsComments || state.placing) return;
    if (localStorage.getItem(NAME_KEY) === null) {
      askName(startPlacing);
      return;
    }
    state.placing = true;
    $("catcher").hidden = false;
    $("add").setAttribute("aria-pressed", "true");
    showHint("Click where your comment belongs · Esc cancels");
  }

  function stopPlacing() {
    state.placing = false;
    $("catcher").hidden = true;
    $("add").removeAttribute("aria-pressed");
    hideHint();
  }

  function showHint(text) {
    $("hint").textContent = text;
    $("hint").hidden = false;
  }

  function hideHint() {
    $("hint").hidden = true;
  }

  $("catcher").addEventListener("click", async (event) => {
    const box = frame.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    stopPlacing();
    const answer = await locate(x, y);
    if (answer) {
      state.pending = {
        pagePath: pagePathOf(answer.path), selector: answer.selector, offsetX: answer.offsetX, offsetY: answer.offsetY,
        pinX: answer.pinX, pinY: answer.pinY,
      };
    } else {
      // No agent answered: the pin is kept as a share of the visible frame, on the page the frame was opened at.
      showHint("The preview does not run the review agent: the pin marks the visible frame, without a selector.");
      state.pending = {
        pagePath: currentPath(), selector: null, offsetX: null, offsetY: null,
        pinX: Math.round((x / box.width) * 10000) / 100, pinY: Math.round((y / box.height) * 10000) / 100,
      };
    }
    renderPins();
    openCompose();
  });

  function openCompose() {
    $("compose-error").textContent = "";
    $("compose-where").textContent = `On ${state.pending.pagePath}`;
    $("send").disabled = false;
    $("compose").showModal();
    $("content").focus();
  }

  function closeCompose() {
    $("compose").close();
    state.pending = null;
    renderPins();
  }

  $("cancel").addEventListener("click", closeCompose);
  $("compose").addEventListener("cancel", (event) => {
    event.preventDefault();
    closeCompose();
  });

  $("compose-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = $("content").value.trim();
    if (!content) {
      $("compose-error").textContent = "Write a comment first.";
      return;
    }
    $("send").disabled = true;
    try {
      await call("POST", { content, reviewerName: localStorage.getItem(NAME_KEY) || null, ...state.pending });
      $("content").value = "";
      closeCompose();
      await refresh();
    } catch (error) {
      // The text stays in the box, so nothing typed is lost; the server's reason says what to change.
      $("compose-error").textContent = String(error.message || error);
      $("send").disabled = false;
    }
  });

  // --- the reviewer's name, asked once --------------------------------------------------------

  let afterName = null;

  function askName(then) {
    afterName = then || null;
    $("name").value = localStorage.getItem(NAME_KEY) || "";
    $("name-dialog").showModal();
    $("name").focus();
  }

  function saveName(value) {
    localStorage.setItem(NAME_KEY, value.trim().slice(0, 100));
    $("name-dialog").close();
    renderName();
    const then = afterName;
    afterName = null;
    if (then) then();
  }

  $("name-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveName($("name").value);
  });
  $("anonymous").addEventListener("click", () => saveName(""));
  $("who").addEventListener("click", () => askName(null));

  // --- keys and buttons -----------------------------------------------------------------------

  $("add").addEventListener("click", () => (state.placing ? stopPlacing() : startPlacing()));

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLElement && event.target.closest("input, textarea, dialog");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "c") {
      event.preventDefault();
      startPlacing();
    } else if (event.key === "Escape" && state.placing) {
      stopPlacing();
    }
  });

  window.addEventListener("resize", renderPins);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);

  refresh();
})();
