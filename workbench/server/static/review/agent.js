/* The review agent: runs inside a preview page framed by the review page, and tells it where things are.
 *
 * A preview on another origin cannot be read by the review page, so the page asks this script by
 * postMessage: "what is under (x, y)?" -> a unique CSS selector, the click's offset inside that
 * element, the pin as a percentage of the whole page, and the page path. The agent also reports
 * the page's path, scroll and size whenever they change, so earlier pins follow the page.
 *
 * It talks only to the server it was loaded from (the review page's origin): it posts to that
 * origin alone and ignores messages from anywhere else. Outside a frame it does nothing.
 * Protocol (all objects with a `type`):
 *   page -> agent  {type: "gf-review:locate", id, x, y}     x, y in the frame's viewport (CSS px)
 *   agent -> page  {type: "gf-review:located", id, path, selector, offsetX, offsetY, pinX, pinY}
 *   agent -> page  {type: "gf-review:view", path, scrollX, scrollY, width, height, docWidth, docHeight, anchors}
 *   page -> agent  {type: "gf-review:hello"}                 asks for a fresh view
 *   page -> agent  {type: "gf-review:anchors", items: [{id, selector, offsetX, offsetY}]}
 *   agent -> page  {type: "gf-review:key", key: "c" | "Escape"}  the review page's keys, typed in the preview
 * `anchors` maps each item's id to where its element is now ({x, y} in page pixels: the
 * element's box plus the stored offset, kept inside the box), or leaves it out when the
 * selector no longer finds one element; the page then falls back to the stored percentages.
 */
(() => {
  "use strict";
  if (window.parent === window || window.__gfReviewAgent) return;
  const script = document.currentScript;
  if (!script || !script.src) return;
  window.__gfReviewAgent = true;
  const origin = new URL(script.src, location.href).origin;
  const post = (message) => window.parent.postMessage(message, origin);
  const round = (n) => Math.round(n * 100) / 100;
  const clamp = (n) => Math.min(100, Math.max(0, n));

  function pageSize() {
    const root = document.documentElement;
    const body = document.body || root;
    return {
      width: Math.max(root.scrollWidth, body.scrollWidth, window.innerWidth),
      height: Math.max(root.scrollHeight, body.scrollHeight, window.innerHeight),
    };
  }

  let anchorItems = [];

  function anchors() {
    const found = {};
    for (const item of anchorItems) {
      if (typeof item.selector !== "string" || !isUnique(item.selector)) continue;
      const box = document.querySelector(item.selector).getBoundingClientRect();
      const dx = Number.isFinite(item.offsetX) ? Math.min(Math.max(item.offsetX, 0), box.width) : box.width / 2;
      const dy = Number.isFinite(item.offsetY) ? Math.min(Math.max(item.offsetY, 0), box.height) : box.height / 2;
      found[item.id] = { x: round(box.left + window.scrollX + dx), y: round(box.top + window.scrollY + dy) };
    }
    return found;
  }

  function view() {
    const size = pageSize();
    return {
      type: "gf-review:view", path: location.pathname, scrollX: window.scrollX, scrollY: window.scrollY,
      width: window.innerWidth, height: window.innerHeight, docWidth: size.width, docHeight: size.height,
      anchors: anchors(),
    };
  }

  function isUnique(selector) {
    try {
      return document.querySelectorAll(selector).length === 1;
    } catch {
      return false;
    }
  }

  // Shortest id-anchored path of tag:nth-of-type steps; unique by construction, checked anyway.
  function selectorOf(element) {
    if (!(element instanceof Element)) return null;
    const steps = [];
    let node = element;
    while (node && node.nodeType === 1 && node !== document.documentElement) {
      if (node.id && isUnique("#" + CSS.escape(node.id))) {
        steps.unshift("#" + CSS.escape(node.id));
        break;
      }
      let step = node.localName;
      const parent = node.parentElement;
      if (parent) {
        const same = Array.from(parent.children).filter((c) => c.localName === node.localName);
        if (same.length > 1) step += `:nth-of-type(${same.indexOf(node) + 1})`;
      }
      steps.unshift(step);
      node = parent;
    }
    const selector = steps.join(" > ");
    return selector && isUnique(selector) ? selector : null;
  }

  function locate(x, y) {
    const element = document.elementFromPoint(x, y) || document.body;
    const box = element.getBoundingClientRect();
    const size = pageSize();
    return {
      path: location.pathname,
      selector: selectorOf(element),
      offsetX: round(x - box.left),
      offsetY: round(y - box.top),
      pinX: round(clamp(((x + window.scrollX) / size.width) * 100)),
      pinY: round(clamp(((y + window.scrollY) / size.height) * 100)),
    };
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== origin || event.source !== window.parent) return;
    const message = event.data;
    if (!message || typeof message !== "object") return;
    if (message.type === "gf-review:locate" && Number.isFinite(message.x) && Number.isFinite(message.y)) {
      post({ type: "gf-review:located", id: message.id, ...locate(message.x, message.y) });
    } else if (message.type === "gf-review:hello") {
      post(view());
    } else if (message.type === "gf-review:anchors" && Array.isArray(message.items)) {
      anchorItems = message.items.slice(0, 1000);
      post(view());
    }
  });

  // After a click in the preview the keyboard is the frame's: pass the review page's own keys up.
  window.addEventListener("keydown", (event) => {
    const editing = event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]");
    if (editing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "c" || event.key === "Escape") post({ type: "gf-review:key", key: event.key });
  });

  let queued = false;
  const report = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      post(view());
    });
  };
  window.addEventListener("scroll", report, { passive: true });
  window.addEventListener("resize", report);
  window.addEventListener("load", report);
  report();
})();
