/* The review page behind feedbackUrl: the preview in a frame, a pin layer over it, the comments beside it.
 *
 * Everything goes through the reviewers' endpoints with the link's token (X-Review-Token):
 * GET  /api/widget/feedback-sessions/{id}/comments  -> {session: {status, deploymentUrl, acceptsComments, notice}, data}
 * POST /api/widget/feedback-sessions/{id}/comments  <- {content, pagePath, selector, offsetX/Y, pinX/Y, reviewerName}
 *      with an Idempotency-Key per comment, so Send pressed again never stores it twice (server/idempotency.py)
 * Whether comments are open is the server's (the domain's) answer, never decided here.
 * Positions come from the site widget in review mode inside the preview (widget.js, by postMessage);
 * a same-origin preview without it gets it injected. User text is only ever set as textContent.
 * Keyboard users place a pin too: while placing, the catcher over the frame holds the focus and the
 * arrow keys move a visible pin cursor, Enter drops it (the same question to the preview as a click).
 * The 15 s refresh redraws only what changed, so focus stays where the reviewer left it.
 * The comment being typed is kept in localStorage, per tab, until it is stored or cancelled (see "the kept comment").
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const sessionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const token = new URLSearchParams(location.search).get("token") || "";
  const api = `/api/widget/feedback-sessions/${encodeURIComponent(sessionId)}/comments`;
  const assets = document.body.dataset.assets;
  // The server's words for a status (statuses.py's STATUS_LABELS, the TUI's and the CLI's): a reviewer read
  // "task_review". Unlisted names lose their underscores, so no stored name is ever shown as it is stored.
  const STATUS_LABELS = labels(document.body.dataset.statusLabels);
  // And "created" is, to a reviewer, the round being prepared (the documents' "preparing phase"): the preview is
  // still deploying. Here only: elsewhere it is the record's state, which operators search for by its name.
  const statusWords = (status) => (status === "created" ? "preparing" : STATUS_LABELS[status] || String(status).replace(/_/g, " "));
  const NAME_KEY = "workbench.reviewerName";
  const REFRESH_MS = 15000;
  const LOCATE_TIMEOUT_MS = 1500;
  // How long the comments' pins wait, once the preview has loaded, for the page in it to say where their
  // elements are. A preview that runs no agent (another origin without the tag) never says: its pins are
  // drawn at their stored share of the page after this.
  const AGENT_WAIT_MS = 1000;
  // How long a request may go unanswered (a server or proxy that took the connection and hangs): Send stayed
  // disabled for ever. Longer than the server's own bounds on one request with its defaults (10 s for the headers,
  // 30 s for the body, 10 s for the store's write lock): a server still working has answered or given up by then,
  // so a reviewer is rarely told "not sent" of a comment the server goes on to store (Send again then gets the
  // stored one back: it goes with the same Idempotency-Key).
  const REQUEST_TIMEOUT_MS = 60000;
  const CURSOR_STEP_PX = 10; // an arrow key's move of the pin cursor; with Shift, five times that
  const FAN_PX = 18; // of a 24 px pin: a pin closer than this to one drawn before it is moved right, so both numbers show
  const PIN_PX = 24; // a pin's height (review.css, 1.6rem): drawn above its point, unless that is closer to the top
  const EDGE_PX = PIN_PX / 2 + 1; // the nearest a pin's middle comes to the right edge: clientWidth rounds a width up
  function labels(json) {
    try {
      const parsed = JSON.parse(json || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch {
      return {}; // the shell as a static file, unfilled: the names still lose their underscores
    }
  }
  // fetch rejects only when no answer came (offline, server down); its own message ("Failed to fetch") says nothing to a reviewer.
  class Unreachable extends Error {}
  // No answer within REQUEST_TIMEOUT_MS: the request was given up.
  class NoAnswer extends Error {}
  // An answer that is no success. busy: worth the same request again later (429, 5xx), after retryAfter seconds if given.
  // idempotency: the server's own answer about the Idempotency-Key rather than the route's ("in_flight": its first
  // request still runs; "other_body": it was sent with another body; "applied": it was stored and the answer lost,
  // applied saying what it wrote), else null. By that field, not the words: a 409 "still being processed" was
  // taken for the route's 409 of a closed round.
  class Refused extends Error {
    constructor(status, payload, retryAfter) {
      super(reason(status, payload));
      this.status = status;
      this.busy = status === 429 || status >= 500;
      this.retryAfter = retryAfter;
      this.idempotency = (payload && payload.idempotency) || null;
      this.applied = (payload && payload.applied) || null;
    }
  }

  // A comment longer than this (characters, or lines) is shown cut to CLAMP_LINES lines, with "Show more".
  const LONG_COMMENT = 400;
  const CLAMP_LINES = 6;
  const state = {
    session: null,
    comments: [],
    view: null, // the agent's last report: path, scroll, sizes
    // Whether the comments' pins wait for the preview (loading, or its agent not yet placing them): drawn at a
    // guess, they stood over a blank frame and then jumped onto their elements.
    pinsWait: true,
    pinsTimer: 0,
    placing: false,
    cursor: null, // the keyboard's pin cursor while placing, {x, y} in frame px; null: not shown
    pending: null, // {pagePath, selector, offsetX, offsetY, pinX, pinY}
    current: null, // the id of the comment whose pin was last activated, highlighted in the list
    sendKey: null, // the Idempotency-Key of every Send of the open comment (see the Send handler); null: none sent yet
    sendName: null, // the reviewer's name its first Send went with, sent again with that key (null: anonymous)
    closedUnder: false, // the open comment's Send was refused because the round closed while it was typed
    seenStatus: null, // the round's status at the last render
    listKey: null, // the comments the list was last drawn from (JSON), so an unchanged refresh draws nothing
    expanded: new Set(), // the long comments a reviewer opened whole: kept open when the list is drawn again
    frameSrc: null,
    previewOrigin: null,
    basePath: "",
    baseDir: "", // the folder the preview's pages are under: the deployment's path, or the folder of the file it names
    locates: new Map(),
    nextLocate: 1,
  };

  const frame = $("preview");

  // --- the server -----------------------------------------------------------------------------

  async function call(method, body, idempotencyKey) {
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(), REQUEST_TIMEOUT_MS); // the body's arrival counts too
    let response;
    let payload = null;
    try {
      try {
        response = await fetch(api, {
          method,
          headers: {
            "X-Review-Token": token,
            ...(body ? { "Content-Type": "application/json" } : {}),
            ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
          cache: "no-store",
          signal: giveUp.signal,
        });
      } catch {
        if (giveUp.signal.aborted) throw new NoAnswer();
        throw new Unreachable("The server could not be reached");
      }
      try {
        payload = await response.json();
      } catch {
        if (giveUp.signal.aborted) throw new NoAnswer();
        payload = null;
      }
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      const wait = Number(response.headers.get("Retry-After")); // seconds; an HTTP date is not worth parsing here
      throw new Refused(response.status, payload, Number.isInteger(wait) && wait > 0 ? wait : null);
    }
    return payload;
  }

  // Random, from getRandomValues rather than crypto.randomUUID: the page may be served over plain http on a LAN,
  // no secure context, where randomUUID is missing (the site widget's keys are made the same way).
  function newKey() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  // In a reviewer's words: the details of a 429 and a 413 name the server's buckets and byte caps, and a proxy's
  // 502 or an unhandled 500 has none, which left "The server answered 502".
  function reason(status, payload) {
    const detail = payload && payload.detail;
    if (status === 429) return "The server is taking too many requests from this network just now";
    if (status === 413) return "The comment is too large for the server. Shorten it and press Send again."; // only a POST has a body
    // pydantic starts a validator's own message with "Value error, ", which says nothing to a reviewer.
    if (Array.isArray(detail)) return "Check the comment: " + detail.map((d) => String(d.msg).replace(/^Value error, /, "")).join("; ");
    if (typeof detail === "string") return detail;
    return status >= 500 ? `The server ran into a problem (HTTP ${status})` : `The server refused it (HTTP ${status})`;
  }

  async function refresh() {
    try {
      const payload = await call("GET");
      state.session = payload.session;
      state.comments = payload.data.slice().sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
      render();
    } catch (error) {
      showNotice(error instanceof Unreachable
        ? "The server could not be reached, so the comments shown may be out of date. Check the connection; this page tries again every 15 seconds."
        : error instanceof NoAnswer ? `The server did not answer within ${REQUEST_TIMEOUT_MS / 1000} seconds, so the comments shown may be out of date. This page tries again every 15 seconds.`
        : error.busy ? `${sentence(error.message)} The comments shown may be out of date; this page tries again every 15 seconds.`
          : String(error.message || error), true);
    }
  }

  // --- paths: the preview's routes, relative to the deployment URL ---------------------------

  // Under the deployment's path (a single-page app's routes, even after a file: /index.html/cart is "/cart"), else, for a
  // deployment at a file, beside it in its folder (<host>/rv/about.html is "/about.html" when it is <host>/rv/index.html).
  function pagePathOf(absolutePath) {
    for (const base of [state.basePath, state.baseDir]) { // one and the same but for a file
      if (base && (absolutePath === base || absolutePath.startsWith(base + "/"))) {
        return absolutePath.slice(base.length) || "/";
      }
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
    $("status").textContent = statusWords(session.status);
    $("status").dataset.status = session.status;
    const resolved = state.comments.filter((c) => c.status === "resolved").length;
    $("progress").textContent = state.comments.length ? `${resolved}/${state.comments.length} resolved` : "";
    const held = document.activeElement;
    $("add").hidden = !open || !keptClaimed; // not before this tab knows which kept comment is its own
    $("who").hidden = !open;
    if (!open) {
      if (state.placing) stopPlacing();
      showNotice(`${sentence(session.notice || "This round takes no comments")} The page is read-only.`, false);
      // The keyboard was on a control the round just took away (Add comment, the name, the catcher placing a pin): it
      // dropped to the page's start, and the next Tab began again from the top. It goes to the notice saying why.
      if ([$("add"), $("who"), $("catcher")].some((control) => control.hidden && control.contains(held))) $("notice").focus();
    } else {
      hideNotice();
    }
    renderName();
    // Out of processing, the builder has rewritten the preview, most often at the same URL: the frame, loaded before,
    // went on showing the old build (and new comments were pinned on it). It loads again, on the page it showed.
    const rebuilt = state.seenStatus === "processing" && session.status !== "processing";
    state.seenStatus = session.status;
    loadFrame(session.deploymentUrl, rebuilt);
    renderList();
    sendAnchors();
    renderPins();
    offerKept();
  }

  // The server's notice is an error detail ("Session is already done"): it ends a sentence here.
  function sentence(text) {
    const trimmed = text.trim();
    return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
  }

  // Returns how many comments of this page the agent is asked to place.
  function sendAnchors() {
    const here = currentPath();
    const items = state.comments
      .filter((c) => c.selector && c.pagePath === here)
      .map((c) => ({ id: c.id, selector: c.selector, offsetX: c.offsetX, offsetY: c.offsetY }));
    post({ type: "gf-review:anchors", items });
    return items.length;
  }

  // The pins wait for the preview's agent (at most AGENT_WAIT_MS more), or stop waiting.
  function waitForPins(waiting) {
    clearTimeout(state.pinsTimer);
    state.pinsWait = waiting;
    $("frame-wrap").dataset.pins = waiting ? "waiting" : "shown";
    if (waiting) {
      state.pinsTimer = setTimeout(() => {
        waitForPins(false);
        renderPins();
      }, AGENT_WAIT_MS);
    }
  }

  // rebuilt: the deployment at url changed under the frame, which loads again even where url is the same.
  function loadFrame(url, rebuilt) {
    const note = $("frame-note");
    note.hidden = Boolean(url);
    if (!url) {
      const ended = !state.session.acceptsComments && state.session.status !== "created";
      note.textContent = ended ? "No preview: this round ended before its preview was deployed." : "The preview is still deploying.";
      if ($("notice").hidden) showNotice("The preview is still deploying. This page updates when it is ready.", false);
      return;
    }
    if (state.frameSrc === url) {
      if (rebuilt) frame.src = state.view ? state.previewOrigin + state.view.path : state.frameSrc;
      return;
    }
    const parsed = new URL(url, location.href);
    state.frameSrc = url;
    state.previewOrigin = parsed.origin;
    state.basePath = parsed.pathname.replace(/\/+$/, "");
    // A page, not a folder: its last segment names a document (index.html). A folder may have a dot in its name too
    // (/builds/v1.2), and its pages are under it.
    const file = /\.(html?|xhtml|php|aspx?|jsp)$/i.test(parsed.pathname);
    state.baseDir = file ? state.basePath.slice(0, state.basePath.lastIndexOf("/")) : state.basePath;
    frame.src = parsed.href;
    clearTimeout(state.pinsTimer); // until it has loaded: no timer, the wait goes on
    state.pinsWait = true;
  }

  // Redrawn only when the comments changed; the focus, if it was in the list, goes back to the same
  // control of the same comment (by id), so a keyboard or screen-reader user keeps their place.
  function renderList() {
    const key = JSON.stringify(state.comments);
    if (key === state.listKey) {
      markCurrent();
      return;
    }
    state.listKey = key;
    const list = $("list");
    const active = document.activeElement;
    const held = active && list.contains(active) && active.closest("li.comment");
    const focus = held ? { id: held.dataset.id, page: active.classList.contains("page") } : null;
    list.replaceChildren();
    state.comments.forEach((comment, index) => {
      const item = document.createElement("li");
      item.className = "comment";
      item.tabIndex = -1; // a pin, or the page after a send, puts the focus here
      item.dataset.id = comment.id;
      item.dataset.status = comment.status;
      const number = document.createElement("span");
      number.className = "number";
      number.textContent = String(index + 1);
      const body = document.createElement("div");
      const text = document.createElement("p");
      text.className = "content";
      text.dir = "auto"; // a Hebrew or Arabic comment reads right to left, its end punctuation at its end
      text.textContent = comment.content;
      const meta = document.createElement("p");
      meta.className = "meta";
      const status = document.createElement("span");
      status.className = "badge";
      status.dataset.status = comment.status;
      status.textContent = statusWords(comment.status);
      const page = document.createElement("button");
      page.type = "button";
      page.className = "link page";
      page.textContent = comment.pagePath;
      // Its text alone, a path, was its name to a screen reader ("slash"), which says nothing of what it does.
      page.setAttribute("aria-label", `Show page ${comment.pagePath} in the preview`);
      page.title = page.getAttribute("aria-label"); // the same words as a tooltip, for the eye
      // A title is a button's description where it is not its name, and Chromium read these words twice ("Show page
      // /cart in the preview, button, Show page /cart in the preview"): described by an empty element, it has none.
      page.setAttribute("aria-describedby", "no-description");
      page.addEventListener("click", () => {
        // The list leads to the pin as a pin leads to the list: this comment becomes the current one, its pin
        // marked on its page (which is shown). Its page already in view, a click did nothing at all.
        state.current = comment.id;
        markCurrent();
        showView("preview");
        showPage(comment.pagePath);
        renderPins();
      });
      meta.append(status, " on ", page, " · ", isolated(comment.reviewerName || "anonymous"));
      body.append(text);
      // A long comment shows its first lines: whole, one essay pushed every other comment out of reach.
      if (comment.content.length > LONG_COMMENT || comment.content.split("\n").length > CLAMP_LINES) {
        const more = document.createElement("button");
        more.type = "button";
        more.className = "link more";
        const show = (open) => {
          text.classList.toggle("clamped", !open);
          more.textContent = open ? "Show less" : "Show more";
          more.setAttribute("aria-expanded", String(open));
        };
        show(state.expanded.has(comment.id));
        more.addEventListener("click", () => {
          const open = !state.expanded.delete(comment.id);
          if (open) state.expanded.add(comment.id);
          show(open);
        });
        body.append(more);
      }
      body.append(meta);
      item.append(number, body);
      list.append(item);
    });
    $("count").textContent = state.comments.length ? `(${state.comments.length})` : "";
    $("view-count").textContent = $("count").textContent;
    $("empty").hidden = state.comments.length > 0;
    markCurrent();
    if (focus) {
      const item = listItem(focus.id);
      const target = item && (focus.page ? item.querySelector("button.page") : item);
      if (target) target.focus({ preventScroll: true });
    }
  }

  function listItem(id) {
    for (const item of $("list").children) if (item.dataset.id === id) return item;
    return null;
  }

  function markCurrent() {
    for (const item of $("list").children) {
      if (item.dataset.id === state.current) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    }
  }

  // At phone width the preview and the comments take turns on the screen, switched by the buttons above them (README
  // "The review page"): stacked, the list had 180 px under the preview. Elsewhere both are shown and this changes
  // nothing drawn. The one not shown is hidden, not undrawn: the frame keeps its size, and its pins their places.
  function showView(view) {
    $("layout").dataset.view = view;
    for (const button of $("views").querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
  for (const button of $("views").querySelectorAll("button")) button.addEventListener("click", () => showView(button.dataset.view));

  // A pin activated (click, Enter or Space): its entry in the list is highlighted, scrolled to and focused.
  function showComment(id) {
    showView("comments");
    state.current = id;
    markCurrent();
    renderPins();
    const item = listItem(id);
    if (!item) return;
    item.scrollIntoView({ block: "nearest" });
    item.focus({ preventScroll: true });
  }

  // Where a pin goes in the frame: on its element (selector + offset, as the agent finds it now,
  // so pins follow a reflowed layout), else at its stored share of the page.
  function pinPosition(comment) {
    const width = frame.clientWidth;
    const height = frame.clientHeight;
    const view = state.view;
    if (!view) return { left: (comment.pinX / 100) * width, top: (comment.pinY / 100) * height, placed: "share" };
    const anchor = comment.id && view.anchors && view.anchors[comment.id];
    if (anchor) return { left: anchor.x - view.scrollX, top: anchor.y - view.scrollY, placed: "element" };
    return {
      left: (comment.pinX / 100) * view.docWidth - view.scrollX,
      top: (comment.pinY / 100) * view.docHeight - view.scrollY,
      placed: "share",
    };
  }

  // Updated in place (keyed by comment id), not rebuilt: the agent reports every scroll, and a
  // rebuilt pin would lose the keyboard focus. Pins on one spot fan out to the right.
  function renderPins() {
    const layer = $("pins");
    const here = currentPath();
    const width = frame.clientWidth;
    const height = frame.clientHeight;
    const drawnAt = []; // where the pins before this one are drawn (their middles)
    const wanted = new Map();
    const add = (key, entry, number, label) => {
      const { left, top, placed } = pinPosition(entry);
      if (left < 0 || top < 0 || left > width || top > height) return;
      // Whole inside the preview, which clips: a pin on its top banner was drawn above the frame, a sliver.
      const below = top < PIN_PX;
      const x0 = Math.min(Math.max(left, PIN_PX / 2), width - EDGE_PX);
      const middle = below ? top + PIN_PX / 2 : top - PIN_PX / 2;
      // Moved right past every pin drawn before it that would cover its number: moved only past those on its very
      // spot, pins a few px apart piled up on one another. At the preview's right edge, left instead: the frame cut
      // the fanned ones there in two.
      const fan = (step) => {
        let x = x0;
        for (let moved = true; moved;) {
          moved = false;
          for (const at of drawnAt) {
            if (Math.abs(at.x - x) < FAN_PX && Math.abs(at.middle - middle) < FAN_PX) {
              x = at.x + step;
              moved = true;
            }
          }
        }
        return x;
      };
      let x = fan(FAN_PX);
      if (x > width - EDGE_PX) {
        const leftwards = fan(-FAN_PX);
        if (leftwards >= PIN_PX / 2) x = leftwards;
      }
      drawnAt.push({ x, middle });
      wanted.set(key, { left: x, top, below, number, label, entry, placed });
    };
    state.comments.forEach((comment, index) => {
      if (state.pinsWait) return; // the pin being placed is drawn all the same: the reviewer put it there
      if (comment.pinX == null || comment.pinY == null || comment.pagePath !== here) return;
      add(comment.id, comment, String(index + 1), `Comment ${index + 1}`);
    });
    if (state.pending && state.pending.pagePath === here) add("pending", state.pending, "+", null);
    for (const pin of [...layer.children]) {
      if (!wanted.has(pin.dataset.key)) pin.remove();
    }
    const drawn = new Map([...layer.children].map((pin) => [pin.dataset.key, pin]));
    for (const [key, want] of wanted) {
      let pin = drawn.get(key);
      if (!pin) {
        pin = want.label ? document.createElement("button") : document.createElement("span");
        pin.dataset.key = key;
        if (want.label) {
          pin.type = "button";
          pin.addEventListener("click", () => showComment(key));
        } else {
          pin.setAttribute("aria-hidden", "true"); // the compose dialog says where the new comment goes
        }
        layer.append(pin);
      }
      const resolved = want.entry.status === "resolved";
      pin.className = `pin${want.label ? "" : " pending"}${resolved ? " resolved" : ""}${key === state.current ? " current" : ""}${want.below ? " below" : ""}`;
      pin.textContent = want.number;
      if (want.label) {
        pin.setAttribute("aria-label", resolved ? `${want.label}, resolved` : want.label);
        // Said, as its list entry's is: the mark the list puts on a pin was drawn only, never read out.
        if (key === state.current) pin.setAttribute("aria-current", "true");
        else pin.removeAttribute("aria-current");
        // Cut by characters, not UTF-16 units: an emoji cut in half ended the tooltip in "�".
        const chars = Array.from(want.entry.content);
        pin.title = chars.length > 80 ? `${chars.slice(0, 80).join("")}…` : want.entry.content;
      }
      pin.dataset.placed = want.placed; // on its element, or at its share of the page (no agent to ask)
      pin.style.left = `${want.left}px`;
      pin.style.top = `${want.top}px`;
    }
  }

  // The header's name line, true at every moment: no name asked yet (it is asked at the first Add comment), the name
  // given, or anonymous once the reviewer chose "Stay anonymous". It said "Commenting anonymously" before asking.
  function renderName() {
    const name = storedName();
    const who = $("who");
    if (name) who.replaceChildren("Commenting as ", isolated(name));
    else who.textContent = name === null ? "Set your name" : "Commenting anonymously";
    who.title = name === null ? "Not set yet: asked when you add your first comment" : "Change your name";
  }

  // A reviewer's name in a line of ours, in its own direction (<bdi>): a right-to-left name's closing
  // punctuation was drawn at its start, as the line around it runs left to right.
  function isolated(text) {
    const bdi = document.createElement("bdi");
    bdi.textContent = text;
    return bdi;
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
    frame.src = pageUrl(pagePath);
  }

  // The URL of a pagePath, as pagePathOf made it. The deployment URL may name a file (<host>/rv/index.html): its "/" is
  // that URL itself, and its other pages are taken to be beside it, in its folder ("/about.html" is <host>/rv/about.html),
  // as a static site's are. Both were put after the file: /index.html/ and /index.html/about.html, "not found" in the
  // frame. (A route a single-page app put after its file, /index.html/cart, reads "/cart" too, and is shown beside the
  // file like any other page: one pagePath cannot say which it was.)
  function pageUrl(pagePath) {
    if (pagePath === "/") return new URL(state.frameSrc, location.href).href;
    return state.previewOrigin + state.baseDir + pagePath;
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
    waitForPins(true);
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
      // A new page: tell the agent which comments belong to it, and draw them once it has placed them (a
      // report with anchors; a scroll reported before it had the list has none), not at a guess before.
      if (moved) waitForPins(sendAnchors() > 0);
      else if (state.pinsWait && message.anchors && Object.keys(message.anchors).length > 0) waitForPins(false);
      renderPins();
    } else if (message.type === "gf-review:key") {
      if (message.key === "c") startPlacing(true);
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

  // byKeyboard: started by a key (c, or Enter/Space on Add comment), so the pin cursor shows at once.
  function startPlacing(byKeyboard) {
    if (!state.session || !state.session.acceptsComments || state.placing || !keptClaimed) return;
    if (storedName() === null) {
      askName(() => startPlacing(byKeyboard));
      return;
    }
    state.placing = true;
    showView("preview");
    const catcher = $("catcher");
    catcher.hidden = false;
    $("add").setAttribute("aria-pressed", "true");
    state.cursor = byKeyboard ? cursorStart() : null;
    drawCursor();
    catcher.focus(); // arrow keys and Enter come here, also when the keyboard was in the preview
    if (matchMedia("(hover: none)").matches) showHint("Tap where your comment belongs.");
    else showHint("Click where your comment belongs, or move the pin with the arrow keys (Shift: faster) and press Enter. Esc cancels.");
  }

  function stopPlacing() {
    const hadFocus = $("catcher").contains(document.activeElement);
    state.placing = false;
    state.cursor = null;
    drawCursor();
    $("catcher").hidden = true;
    $("add").removeAttribute("aria-pressed");
    hideHint();
    if (hadFocus && !$("add").hidden) $("add").focus(); // not left on the hidden catcher (the body)
  }

  // Where the keyboard's pin cursor starts: the middle of the frame, a third down (over most pages' content).
  function cursorStart() {
    return { x: Math.round(frame.clientWidth / 2), y: Math.round(frame.clientHeight / 3) };
  }

  function drawCursor() {
    const cursor = $("cursor");
    cursor.hidden = !state.cursor;
    if (!state.cursor) return;
    cursor.classList.toggle("below", state.cursor.y < PIN_PX); // as a pin there is drawn: whole, under its point
    cursor.style.left = `${state.cursor.x}px`;
    cursor.style.top = `${state.cursor.y}px`;
  }

  function showHint(text) {
    $("hint").textContent = text;
    $("hint").hidden = false;
  }

  function hideHint() {
    $("hint").hidden = true;
  }

  $("catcher").addEventListener("click", (event) => {
    const box = frame.getBoundingClientRect();
    place(event.clientX - box.left, event.clientY - box.top);
  });

  $("catcher").addEventListener("keydown", (event) => {
    const step = event.shiftKey ? CURSOR_STEP_PX * 5 : CURSOR_STEP_PX;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (!moves[event.key] && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    if (!state.cursor) {
      // Placing began with the mouse: the first key shows the cursor, the next ones move or drop it.
      state.cursor = cursorStart();
    } else if (moves[event.key]) {
      const [dx, dy] = moves[event.key];
      state.cursor = {
        // Not nearer the sides than half a pin, which the frame's edge would cut in two.
        x: Math.min(Math.max(state.cursor.x + dx, PIN_PX / 2), frame.clientWidth - EDGE_PX),
        y: Math.min(Math.max(state.cursor.y + dy, 1), frame.clientHeight - 1),
      };
    } else {
      place(state.cursor.x, state.cursor.y);
      return;
    }
    drawCursor();
  });

  // x, y: frame viewport px, from a click or the keyboard's cursor.
  async function place(x, y) {
    const box = frame.getBoundingClientRect();
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
  }

  // kept: the box brings back a kept comment (see "the kept comment"), and says so.
  function openCompose(kept) {
    openKeptLine(!kept ? null
      : state.sendKey ? "Your comment was kept. Its last Send got no answer: Send again never stores it twice."
        : "Your unsent comment was kept.");
    composeError("", false);
    $("compose-where").textContent = `On ${state.pending.pagePath}`;
    $("send").disabled = false;
    $("compose").showModal();
    $("content").focus();
  }

  // The box's line about its kept copy (text null: none), which the text is described by, as by the box's error.
  function openKeptLine(text) {
    const line = $("compose-kept");
    line.hidden = !text;
    line.textContent = text || "";
    // Not the line while hidden: a hidden line it points to would still be read out.
    $("content").setAttribute("aria-describedby", text ? "compose-kept compose-error" : "compose-error");
  }

  // The box's error, which the text is described by (an alert is read once, as it appears: back on the text a screen
  // reader said nothing of it); invalid: the text itself is what is wrong (none, or refused for what it says or its size).
  function composeError(text, invalid) {
    $("compose-error").textContent = text;
    if (invalid) $("content").setAttribute("aria-invalid", "true");
    else $("content").removeAttribute("aria-invalid");
  }

  // Cancel (or Esc) discards the draft: the next comment, wherever it goes, starts empty, with a key of its own. Its
  // kept copy goes too, as the widget's Cancel drops a visitor's kept words: Cancel is the reviewer's own "not this
  // one", and a question there would stand in the way of every Esc.
  function closeCompose(keep = false) {
    $("compose").close();
    $("content").value = "";
    state.pending = null;
    state.sendKey = null;
    state.sendName = null;
    state.closedUnder = false;
    if (!keep) dropKept();
    renderPins();
  }

  function cancelCompose() {
    // A round closed under the box (its Send said "Not sent"): Esc, pressed as ever, discarded the only copy of what
    // was typed. It stays on the page instead, read-only to copy until Dismiss, as a reload shows it.
    // Its Send's 409 says so before the refresh it starts has brought the round's new status (an Esc pressed at once).
    const closed = state.closedUnder || Boolean(state.session && !state.session.acceptsComments);
    const words = closed && state.pending && $("content").value.trim() ? { content: $("content").value, pending: state.pending } : null;
    closeCompose(Boolean(words));
    if (words) {
      $("kept").hidden = true;
      showKept(readKept() || words);
      $("kept-text").focus();
      return;
    }
    // The dialog would give the focus back to the hidden catcher. Where the round has closed under the box, Add
    // comment is gone too and the keyboard fell to the page's start: it goes to the notice saying why, as when the
    // round closes with the focus on Add comment.
    if (!$("add").hidden) $("add").focus();
    else if (!$("notice").hidden) $("notice").focus();
  }

  $("cancel").addEventListener("click", cancelCompose);
  $("content").addEventListener("input", keepComment);
  $("content").addEventListener("input", () => $("content").removeAttribute("aria-invalid"));
  $("compose").addEventListener("cancel", (event) => {
    event.preventDefault();
    cancelCompose();
  });

  $("compose-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = $("content").value.trim();
    if (!content) {
      composeError("Write a comment first.", true);
      $("content").focus();
      return;
    }
    $("send").disabled = true;
    // One key for every Send of this comment, from the first until it is stored or the box is closed: a Send again
    // after a give-up (or an unreachable server, or a proxy's 5xx) is then the same request, which the server stores
    // once, answering the later Send with the comment the first stored. Text edited after such a Send keeps the key
    // as well: the first may still be stored, and under a new key the edited text would be stored beside it. Under
    // the same one the server stores the edit if the first never got there (a request refused or lost leaves no
    // record: a refused text mended goes under it too), else answers "other_body" and the reviewer chooses, knowing.
    // The name goes with the key: read again at a later Send, a name changed in between (here or in another tab) made
    // that Send's body another one under the same key, which the server refused as "other_body".
    if (!state.sendKey) {
      state.sendKey = newKey();
      state.sendName = storedName() || null;
    }
    keepComment(); // the key with it, before the request can reach the server: a reload then sends it again under it
    let created;
    try {
      created = await postComment({ content, reviewerName: state.sendName, ...state.pending }, state.sendKey);
    } catch (error) {
      // The text stays in the box, so nothing typed is lost; the server's reason says what to change.
      composeError(error instanceof Unreachable
        ? "Not sent: the server could not be reached. Your comment is kept here; check the connection and press Send again."
        : error instanceof NoAnswer
          // Not "Not sent": the server may have stored it and lost only its answer. Send again settles it either way.
          ? `The server did not answer within ${REQUEST_TIMEOUT_MS / 1000} seconds, so this comment may or may not be stored. It is kept here; press Send again, which never stores it twice.`
          : error.busy ? `Not sent. ${sentence(error.message)} Your comment is kept here; press Send again ${error.retryAfter ? `in ${error.retryAfter} seconds` : "in a moment"}.`
            // Not "Not sent": the first Send may yet store it, and the next one then shows it stored.
            : error.idempotency === "in_flight" ? "The server is still processing your first Send of this comment. Your comment is kept here; press Send again in a moment."
              : error.idempotency === "other_body"
                ? "Not sent: the server already took this comment as it was before your change, from the Send it had not answered (the list shows it once it is stored). Press Send again to add the changed text as another comment, or Cancel."
                // Not "this round takes no more comments": a round in task review takes them again once it returns to review.
                : error.status === 409 ? `Not sent. ${sentence(error.message)} Copy your text to keep it.`
                  : `Not sent. ${sentence(String(error.message || error))}`,
      error instanceof Refused && (error.status === 422 || error.status === 413));
      // Disabling Send dropped the keyboard on the page's body, behind the open dialog, where Enter did nothing. It goes
      // back to Send where pressing it again is the remedy, else to the text to change or copy.
      const again = error instanceof Unreachable || error instanceof NoAnswer || error.busy || Boolean(error.idempotency);
      const dropped = !$("compose").contains(document.activeElement);
      if (error.idempotency === "other_body") {
        // The first text is the one stored under this key; the changed one, sent again, is a comment of its own.
        state.sendKey = null;
        state.sendName = null;
        keepComment();
        refresh();
      } else if (error.status === 409 && !error.idempotency) {
        // The round closed while this was typed: Send again cannot help, and the page behind turns read-only.
        state.closedUnder = true;
        refresh();
        if (dropped) $("content").focus();
        return;
      }
      $("send").disabled = false;
      if (dropped) (again ? $("send") : $("content")).focus();
      return;
    }
    closeCompose();
    await refresh();
    // The new comment in the list (it is read out), else Add comment, for the next one.
    const item = created && listItem(created.id);
    if (item) {
      showView("comments");
      item.scrollIntoView({ block: "nearest" });
      item.focus({ preventScroll: true });
    } else if (!$("add").hidden) {
      $("add").focus();
    }
  });

  // A comment's POST. The server's "applied" is no refusal: an earlier Send under this key stored the comment, and its
  // answer was lost (the server stopped before keeping it), so the comment is there and is not stored again.
  async function postComment(body, idempotencyKey) {
    try {
      return await call("POST", body, idempotencyKey);
    } catch (error) {
      if (!(error instanceof Refused) || error.idempotency !== "applied") throw error;
      return { id: error.applied && error.applied.entity_id };
    }
  }

  // --- the kept comment: the open comment outlives a reload, a closed tab, a crash ------------------

  // In localStorage as it is typed, per review session (its id: never the token, a secret kept out of storage), with
  // the Idempotency-Key of its Send once it has one and the reviewer's name that Send went with: a Send the server may
  // have stored, sent again after a reload, is the same request under the same key and is stored once. Dropped when
  // the comment is stored or cancelled. Where storage is blocked or full the page works as before, the comment in its
  // memory only; a full one keeps the last copy it took, as the widget's kept words do, unless that copy went with
  // another key than the box's (see keepComment).
  // One per tab (workbench.keptComment.<round>.<tab>): kept per round alone, two tabs on one round wrote one copy, the
  // last typed over the other, and a reload of the first tab brought back the second's words and key. A tab's id is
  // in its sessionStorage, which lasts as long as the tab: its reloads and a crashed browser's restore. The comment of
  // a tab that is gone goes to the next tab opened on the round ("whose tab is gone", below).
  const KEPT_PREFIX = "workbench.keptComment.";
  const TAB_KEY = "workbench.reviewTab";
  const KEPT_MAX_CHARS = 5000; // the server's cap on a comment (CommentCreate.content), as the box's maxlength
  const KEPT_MAX_PATH = 2000; // the server's on pagePath and selector: an anchor over it would be refused anyway
  // Kept comments, at most, of all rounds and tabs: the oldest go first (the widget keeps 20 pages' words). As many
  // as when one round kept one, so storage holds no more than it did.
  const KEPT_MAX = 20;
  let tabId = readTabId();
  const keptName = () => `${KEPT_PREFIX}${sessionId}.${tabId}`;

  function readTabId() {
    try {
      const id = sessionStorage.getItem(TAB_KEY);
      if (id && /^[0-9a-f]{32}$/.test(id)) return id;
    } catch {
      // blocked: an id for this page alone; its comment, released on pagehide, is the next page's to take over
    }
    return newTabId();
  }

  function newTabId() {
    const id = newKey();
    try {
      sessionStorage.setItem(TAB_KEY, id);
    } catch {
      // blocked: as above
    }
    return id;
  }

  function keepComment() {
    const content = $("content").value;
    const pending = state.pending;
    // An empty box with no Send made holds nothing worth bringing back, as an emptied widget form keeps no words.
    if (!pending || (!content.trim() && !state.sendKey)) {
      dropKept();
      return;
    }
    if (!keptAnchor(pending)) {
      dropKept();
      return;
    }
    const chars = Array.from(content); // cut by characters, as the server counts them: no emoji cut in half
    const kept = {
      content: chars.length > KEPT_MAX_CHARS ? chars.slice(0, KEPT_MAX_CHARS).join("") : content,
      pending, sendKey: state.sendKey, reviewerName: state.sendName, savedAt: Date.now(), tab: tabId, held: true,
    };
    try {
      localStorage.setItem(keptName(), JSON.stringify(kept)); // text, anchor, key and name in one record: all or none
      keptSendKey = state.sendKey;
      if ($("compose-kept").textContent === NOT_KEPT) openKeptLine(null);
    } catch {
      // Blocked or full: kept in this page's memory only. The older copy storage still holds stays where it has this
      // comment's key (older words, sent again under the same key, are still stored once), but not where it has none
      // or another: storage full just as Send saved its key left the copy without it, which a Send after a reload
      // sent under a new key, and the server could store the comment twice. Better no copy, and the reviewer told.
      if (state.sendKey !== keptSendKey) {
        dropKept();
        openKeptLine(NOT_KEPT);
      }
    }
  }

  // The key of the copy storage holds (null: none, or one without a key), as this page last wrote or read it.
  let keptSendKey = null;
  const NOT_KEPT = "This browser would not keep a copy of this comment (its storage is full or blocked): it is lost if this page is closed before the comment is stored.";

  function dropKept() {
    keptSendKey = null;
    try {
      localStorage.removeItem(keptName());
    } catch {
      // blocked: nothing was kept
    }
  }

  // What storage holds is read back into a POST: anything but what this page wrote (another version's, a damaged one)
  // is dropped rather than opened, or its Send would meet a 422 about fields the reviewer never saw.
  function readKept() {
    let kept;
    try {
      kept = JSON.parse(localStorage.getItem(keptName()) || "null");
    } catch {
      return null;
    }
    if (kept === null) return null;
    const pending = kept && keptAnchor(kept.pending);
    const sound = pending && typeof kept.content === "string" && Array.from(kept.content).length <= KEPT_MAX_CHARS
      && (kept.sendKey === null || (typeof kept.sendKey === "string" && /^[0-9a-f]{32}$/.test(kept.sendKey)))
      && (kept.reviewerName === undefined || kept.reviewerName === null || (typeof kept.reviewerName === "string" && kept.reviewerName.length <= 100));
    if (!sound) {
      dropKept();
      return null;
    }
    // One kept before names were kept with it: its Send most likely went with the name stored now.
    const reviewerName = kept.reviewerName === undefined ? storedName() || null : kept.reviewerName;
    return { content: kept.content, pending, sendKey: kept.sendKey, reviewerName: kept.sendKey ? reviewerName : null };
  }

  // The anchor's own fields only, each as place() made it; one it left out stays out, so a Send after a reload has
  // the very body of the Send before it (another body under the same key is the server's "other_body").
  function keptAnchor(p) {
    if (!p || typeof p !== "object") return null;
    const point = (v) => v === undefined || v === null || (typeof v === "number" && Number.isFinite(v));
    const ok = typeof p.pagePath === "string" && p.pagePath.startsWith("/") && p.pagePath.length <= KEPT_MAX_PATH
      && (p.selector === undefined || p.selector === null || (typeof p.selector === "string" && p.selector.length <= KEPT_MAX_PATH))
      && [p.offsetX, p.offsetY, p.pinX, p.pinY].every(point);
    if (!ok) return null;
    const anchor = {};
    for (const name of ["pagePath", "selector", "offsetX", "offsetY", "pinX", "pinY"]) if (p[name] !== undefined) anchor[name] = p[name];
    return anchor;
  }

  // Kept comments of rounds never opened again would stay for ever: past KEPT_MAX the oldest go.
  function pruneKept() {
    try {
      const kept = [];
      for (let i = 0; i < localStorage.length; i++) {
        const name = localStorage.key(i);
        if (!name || !name.startsWith(KEPT_PREFIX)) continue;
        let savedAt = 0;
        try {
          savedAt = Number(JSON.parse(localStorage.getItem(name)).savedAt) || 0;
        } catch {
          // damaged: oldest of all
        }
        kept.push({ name, savedAt });
      }
      kept.sort((a, b) => b.savedAt - a.savedAt);
      for (const { name } of kept.slice(KEPT_MAX)) localStorage.removeItem(name);
    } catch {
      // blocked: nothing was kept
    }
  }

  // --- whose tab is gone: a kept comment goes to the next tab only once its own tab is gone ---

  // A tab releases its kept comment on pagehide (closed, reloaded, or gone to another page) and holds it again on
  // pageshow (back from the back-forward cache). One a crash left held is gone when no tab answers for it: live tabs
  // say so on a BroadcastChannel when asked, at once, hidden ones too (a message is no timer, which a hidden tab's
  // are slowed to once a minute: a heartbeat would take minutes to tell a crash). Where there is no BroadcastChannel
  // no tab answers, and a held one is taken over as when comments were kept per round.
  // A live tab answers within a few ms; one silent this long crashed, or is frozen (thawed, it still has its comment
  // too: two boxes with one comment and one key, which the server stores once).
  const ANSWER_MS = 1000;
  const tabs = typeof BroadcastChannel === "function" ? new BroadcastChannel("workbench.reviewTabs") : null;
  tabs?.addEventListener("message", (event) => {
    const asked = event.data;
    if (asked && asked.type === "who" && Array.isArray(asked.tabs) && asked.tabs.includes(tabId)) {
      tabs.postMessage({ type: "here", ask: asked.ask, tab: tabId });
    }
  });

  // The ones of these tab ids whose tab answers (a Set), once all have or ANSWER_MS passed.
  function answering(ids) {
    const heard = new Set();
    if (!tabs || !ids.length) return Promise.resolve(heard);
    const ask = newKey();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        tabs.removeEventListener("message", listen);
        resolve(heard);
      };
      const listen = (event) => {
        const here = event.data;
        if (!here || here.type !== "here" || here.ask !== ask) return;
        heard.add(here.tab);
        if (ids.every((id) => heard.has(id))) done();
      };
      const timer = setTimeout(done, ANSWER_MS);
      tabs.addEventListener("message", listen);
      tabs.postMessage({ type: "who", tabs: ids, ask });
    });
  }

  function holdKept(held) {
    try {
      const kept = JSON.parse(localStorage.getItem(keptName()) || "null");
      if (kept && typeof kept === "object") localStorage.setItem(keptName(), JSON.stringify({ ...kept, held }));
    } catch {
      // blocked, full or damaged: a copy left held is taken over once its tab no longer answers
    }
  }

  addEventListener("pagehide", () => holdKept(false));
  addEventListener("pageshow", (event) => {
    if (event.persisted) holdKept(true);
  });

  // This round's kept comments in storage, parsed: {name, tab, held, savedAt, kept}. One of a page that kept one per
  // round (named by the round alone) has no tab: gone.
  function roundKept() {
    const found = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const name = localStorage.key(i);
        if (name !== KEPT_PREFIX + sessionId && !name?.startsWith(`${KEPT_PREFIX}${sessionId}.`)) continue;
        let kept = null;
        try {
          kept = JSON.parse(localStorage.getItem(name));
        } catch {
          // damaged: skipped here, and pruned with the oldest
        }
        if (!kept || typeof kept !== "object") continue;
        found.push({ name, tab: typeof kept.tab === "string" ? kept.tab : null, held: kept.held === true, savedAt: Number(kept.savedAt) || 0, kept });
      }
    } catch {
      // blocked: nothing was kept
    }
    return found;
  }

  // Before a kept comment is offered: this tab's own, else the newest of a tab that is gone, taken over under this
  // tab's name (so no other tab opened later takes it too). Never one a live tab holds: that tab is still writing it.
  async function claimKept() {
    const own = roundKept().find((entry) => entry.name === keptName());
    if (own && own.held) {
      // Held, not released by a reload: another live tab has this tab's id (a duplicated tab is given a copy of its
      // sessionStorage), and this one is a new tab with an id of its own; or none answers, and this is the tab,
      // restored after a crash.
      if ((await answering([tabId])).has(tabId)) tabId = newTabId();
      else return;
    } else if (own) {
      holdKept(true);
      return;
    }
    const others = roundKept().filter((entry) => entry.name !== keptName());
    const alive = await answering(others.filter((entry) => entry.held && entry.tab).map((entry) => entry.tab));
    const gone = others.filter((entry) => !entry.held || !alive.has(entry.tab)).sort((a, b) => b.savedAt - a.savedAt);
    if (!gone.length) return;
    try {
      localStorage.setItem(keptName(), JSON.stringify({ ...gone[0].kept, tab: tabId, held: true }));
      localStorage.removeItem(gone[0].name); // only once it is under this tab's name: never both gone
    } catch {
      // full: left where it is, for a tab opened later
    }
  }

  // Until claimKept is done, no kept comment is offered and none begun (which would take this tab's name first).
  let keptClaimed = false;
  claimKept().catch(() => {}).then(() => {
    keptClaimed = true;
    if (state.session) render();
  });

  // Once the round is known: a round taking comments gets its kept comment back in the box, on its page, its pin where
  // it was and its key the same; a round that takes none shows it read-only to copy, until dismissed (a round in task
  // review takes comments again once it returns to review, and the box then comes back). Asked once per visit, so a
  // comment another tab keeps never pops up here.
  let keptSettled = false;
  function offerKept() {
    if (keptSettled || !keptClaimed) return;
    const kept = readKept();
    if (!kept || state.session.acceptsComments) $("kept").hidden = true;
    if (!kept) {
      keptSettled = true;
      return;
    }
    if (!state.session.acceptsComments) {
      showKept(kept);
      return;
    }
    keptSettled = true;
    if (state.pending || state.placing || $("compose").open) return; // a comment begun here meanwhile goes first
    state.pending = kept.pending;
    state.sendKey = kept.sendKey;
    state.sendName = kept.reviewerName;
    keptSendKey = kept.sendKey;
    $("content").value = kept.content;
    showView("preview");
    showPage(kept.pending.pagePath);
    renderPins();
    openCompose(true);
  }

  function showKept(kept) {
    if (!$("kept").hidden) return; // drawn once: a refresh does not undo the reviewer's selection in it
    $("kept-title").textContent = `Your unsent comment on ${kept.pending.pagePath} was kept. This round takes no comments now: copy it from here, or dismiss it.`;
    $("kept-text").textContent = kept.content;
    $("kept").hidden = false;
  }

  $("kept-dismiss").addEventListener("click", () => {
    dropKept();
    keptSettled = true;
    $("kept").hidden = true;
  });

  // --- the reviewer's name, asked once --------------------------------------------------------

  let afterName = null;
  // Kept in localStorage, and in this page's memory too: where the browser gives the page no storage (all site data
  // blocked) reading it threw, and the page showed the browser's error with no preview and no comments; where
  // storage is full, Save threw and the name dialog never closed. There the name lasts for this visit.
  let nameInMemory = null;

  function storedName() {
    if (nameInMemory !== null) return nameInMemory;
    try {
      return localStorage.getItem(NAME_KEY);
    } catch {
      return null;
    }
  }

  function storeName(value) {
    nameInMemory = value;
    try {
      localStorage.setItem(NAME_KEY, value);
    } catch {
      // blocked or full: remembered for this visit only
    }
  }

  function askName(then) {
    afterName = then || null;
    $("name").value = storedName() || "";
    $("name-dialog").showModal();
    $("name").focus();
  }

  function saveName(value) {
    storeName(value.trim().slice(0, 100));
    $("name-dialog").close();
    renderName();
    const then = afterName;
    afterName = null;
    if (then) then();
  }

  // Asked by Add comment, which the round took away while the name was typed: the dialog (saved, anonymous or Esc)
  // could not give the focus back to that hidden button, and it stayed in the closed dialog, where Tab and Enter did
  // nothing. It goes to the notice saying why nothing can be placed now. (The close event comes after saveName's then.)
  $("name-dialog").addEventListener("close", () => {
    const held = document.activeElement;
    if (!$("notice").hidden && !state.placing && (!held || held === document.body || $("name-dialog").contains(held))) {
      $("notice").focus();
    }
  });

  $("name-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveName($("name").value);
  });
  $("anonymous").addEventListener("click", () => saveName(""));
  $("who").addEventListener("click", () => askName(null));
  // Given or changed in another tab: this one sends under it too (unless it was set here), so its header says so.
  window.addEventListener("storage", (event) => {
    if (event.key === NAME_KEY || event.key === null) renderName();
  });

  // --- keys and buttons -----------------------------------------------------------------------

  // detail 0: a click made by Enter or Space on the button, not by a pointer.
  $("add").addEventListener("click", (event) => (state.placing ? stopPlacing() : startPlacing(event.detail === 0)));

  // The letter c with Caps Lock or Shift too, and the C key of a layout without Latin letters (Hebrew, Arabic,
  // Russian), where it types "ב", "ؤ" or "с": there the shortcut did nothing. The preview's widget asks the same.
  const addKey = (event) => {
    const key = String(event.key || ""); // Chrome's autofill sends keydowns without a key
    return key.toLowerCase() === "c" || (event.code === "KeyC" && !/^[a-z]$/i.test(key));
  };

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLElement && event.target.closest("input, textarea, dialog");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (addKey(event)) {
      event.preventDefault();
      startPlacing(true);
    } else if (event.key === "Escape" && state.placing) {
      stopPlacing();
    }
  });

  window.addEventListener("resize", renderPins);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  // The network back (Wi-Fi again, a train out of its tunnel): read now, not up to 15 s later, the notice saying the
  // comments may be out of date standing all that time.
  window.addEventListener("online", refresh);
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);

  pruneKept();
  refresh();
})();
