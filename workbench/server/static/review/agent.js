/* The review agent: the tag a preview page carries so the review page can pin comments on it.
 *
 * It is now only an alias: the review protocol (the `gf-review:*` messages: locate, located, view,
 * hello, anchors, key) lives once, in the site widget's review mode (/widget.js and its app, see the
 * section "review mode" there), with the widget's own anchor code. This file stays so that previews
 * built with {agent_url}, and the review page's injection into same-origin previews, keep working;
 * pages that can carry the widget's tag (the sample storefront does) save this extra request.
 * Outside a frame it does nothing; the widget talks only to the server both came from.
 */
(() => {
  "use strict";
  if (window.parent === window || window.__gfReviewAgent || window.__gfWidget) return;
  const script = document.currentScript;
  if (!script || !script.src) return;
  const widget = document.createElement("script");
  widget.src = new URL("../../widget.js", script.src).href; // <base>/static/review/agent.js -> <base>/widget.js
  widget.dataset.mode = "review";
  (document.head || document.documentElement).append(widget);
})();
