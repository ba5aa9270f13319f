/* Review Workbench site widget, the app: an open Shadow DOM, an element picker, a form, an offline queue
 * and pins for this browser's own feedback. The loader (/widget.js, the one tag a site carries) adds it
 * after the page's load event, served at /widget/app.<hash>.js; see README "The site widget". Plain JS,
 * no build step. User text is only ever set as textContent. */
(() => {
  'use strict';
  // What the loader found: its tag (the site's attributes), the mode, the rings it has been filling and
  // the page's own fetch from before it wrapped it.
  const W = window.__gfWidget;
  if (!W || !W.tag || W.app) return;
  W.app = true;
  const script = W.tag;
  // data-mode="review": a preview framed by the review page; only the review protocol runs (no site needed).
  const REVIEW_ONLY = W.review;

  const SITE = script.dataset.site;
  const TOKEN = script.dataset.widgetToken;
  const BASE = W.base;
  const API = `${BASE}/api/widget/sites/${encodeURIComponent(SITE)}`;
  const NS = `gf:${SITE}:`;
  // The documented list (README "The site widget"): what a designer asks first about an element.
  const STYLES = ['color', 'background-color', 'font-family', 'font-size', 'font-weight', 'line-height',
    'letter-spacing', 'text-align', 'text-decoration-line', 'text-transform', 'display', 'position', 'width',
    'height', 'margin', 'padding', 'border', 'border-radius', 'box-shadow', 'opacity', 'visibility', 'z-index',
    'overflow', 'cursor', 'outline'];
  const KINDS = ['bug', 'design', 'copy', 'accessibility', 'performance', 'question', 'idea', 'praise'];
  // The widget's own requests, outside the failed-request ring: the page's fetch as the loader found it, or XHR
  // where the page has none or a broken one (it throws, answers no response, or fails where XHR gets through).
  let viaXhr = !W.fetch;
  const xhr = (url, init) => new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    (W.open || x.open).call(x, init.method || 'GET', url);
    for (const [k, v] of Object.entries(init.headers || {})) x.setRequestHeader(k, v);
    x.onload = () => ok({ ok: x.status >= 200 && x.status < 300, status: x.status, headers: { get: n => x.getResponseHeader(n) },
      json: async () => JSON.parse(x.responseText) });
    x.onerror = x.ontimeout = x.onabort = () => fail(new TypeError('Failed to fetch'));
    x.send(init.body == null ? null : init.body);
  });
  async function nativeFetch(url, init = {}) {
    if (!viaXhr) {
      try { const r = await W.fetch(url, init); if (r && typeof r.status === 'number') return r; } catch (_) { /* offline, refused, or broken */ }
    }
    const r = await xhr(url, init); // throws when the server cannot be reached either way
    if (!viaXhr) { viaXhr = true; console.warn('Review Workbench widget: this page\'s fetch does not work; the widget uses XMLHttpRequest.'); }
    return r;
  }

  // Prototype.js (before 1.7) gives arrays a toJSON returning a string: JSON.stringify then writes each array as
  // a string, and neither the outbox nor the server reads the submission back. Written without it.
  const json = (v) => {
    const own = Object.getOwnPropertyDescriptor(Array.prototype, 'toJSON');
    if (!own || !own.configurable) return JSON.stringify(v);
    delete Array.prototype.toJSON;
    try { return JSON.stringify(v); } finally { Object.defineProperty(Array.prototype, 'toJSON', own); }
  };
  // localStorage, with this page's memory standing in when it is disabled or full: a submission
  // then survives until the page closes rather than not at all.
  const mem = {};
  const store = {
    get(k) { if (k in mem) return mem[k]; try { return JSON.parse(localStorage.getItem(NS + k)); } catch (_) { return null; } },
    set(k, v) {
      try { localStorage.setItem(NS + k, json(v)); delete mem[k]; return true; } catch (_) { mem[k] = v; return false; }
    },
    del(k) { delete mem[k]; try { localStorage.removeItem(NS + k); } catch (_) { /* storage disabled */ } },
  };
  const clip = (s, n) => String(s == null ? '' : s).slice(0, n);
  const randomKey = () => {
    // getRandomValues works on plain-http pages too, unlike crypto.randomUUID.
    const b = crypto.getRandomValues(new Uint8Array(32));
    return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };

  // -- anchors -----------------------------------------------------------------------------------
  const unique = (sel, el) => { try { const all = document.querySelectorAll(sel); return all.length === 1 && all[0] === el; } catch (_) { return false; } };
  function cssPath(el) {
    if (el.id && unique(`#${CSS.escape(el.id)}`, el)) return `#${CSS.escape(el.id)}`;
    const parts = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      if (node !== el && node.id && document.querySelectorAll(`#${CSS.escape(node.id)}`).length === 1) { parts.unshift(`#${CSS.escape(node.id)}`); break; }
      let part = node.localName;
      const cls = [...node.classList].filter(c => /^[A-Za-z][\w-]*$/.test(c)).slice(0, 2);
      if (cls.length) part += cls.map(c => `.${CSS.escape(c)}`).join('');
      const parent = node.parentElement;
      if (parent) {
        const same = [...parent.children].filter(c => c.localName === node.localName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(node) + 1})`;
      }
      parts.unshift(part);
      if (unique(parts.join(' > '), el)) break;
    }
    return parts.join(' > ');
  }
  function xpath(el) {
    const steps = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      if (node.id && document.querySelectorAll(`#${CSS.escape(node.id)}`).length === 1 && !node.id.includes('"')) { steps.unshift(`//*[@id="${node.id}"]`); return steps.join('/'); }
      const same = node.parentElement ? [...node.parentElement.children].filter(c => c.localName === node.localName) : [node];
      steps.unshift(same.length > 1 ? `${node.localName}[${same.indexOf(node) + 1}]` : node.localName);
    }
    return `/${steps.join('/')}`;
  }
  const squash = s => s.replace(/\s+/g, ' ');
  function textQuote(el) {
    const exact = squash(el.innerText || el.textContent || '').trim().slice(0, 500);
    if (!exact) return null;
    const before = document.createRange(); before.setStart(document.body, 0); before.setEndBefore(el);
    const after = document.createRange(); after.setStartAfter(el); after.setEnd(document.body, document.body.childNodes.length);
    return { exact, prefix: squash(before.toString()).slice(-32), suffix: squash(after.toString()).slice(0, 32) };
  }
  // What the form's About line calls the picked element, as a person would (README "Form"): its role in words and its
  // accessible name (aria-labelledby, aria-label, a field's label, alt, title, else its text), never a field's value.
  // The page's words: squashed, stripped of control and direction characters (drawn isolated, in a <bdi>), and cut
  // at NAME_CHARS characters (not UTF-16 units: an emoji cut in half ends in "�"). The selector goes to the server.
  const NAME_CHARS = 80;
  const ROLES = { a: 'link', button: 'button', img: 'image', svg: 'image', picture: 'image', canvas: 'picture', video: 'video',
    audio: 'audio player', iframe: 'frame', p: 'paragraph', ul: 'list', ol: 'list', li: 'list item', dl: 'list',
    nav: 'navigation', header: 'header', footer: 'footer', main: 'main content', aside: 'side panel', form: 'form',
    section: 'section', article: 'article', table: 'table', tr: 'table row', td: 'table cell', th: 'column header',
    figure: 'figure', blockquote: 'quotation', select: 'drop-down', textarea: 'text box', label: 'label', dialog: 'dialog',
    details: 'details', summary: 'summary', fieldset: 'group', hr: 'separator', code: 'code', pre: 'code', progress: 'progress bar' };
  const INPUTS = { checkbox: 'checkbox', radio: 'radio button', range: 'slider', submit: 'button', button: 'button', reset: 'button',
    image: 'button', file: 'file chooser', color: 'colour picker', search: 'search box', number: 'number field' };
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
  const said = s => squash(String(s == null ? '' : s).replace(unsafe, ' ')).trim();
  function bounded(s, n) { const chars = Array.from(s); return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : s; }
  function whatItIs(el) {
    const tag = el.localName, type = tag === 'input' ? (el.getAttribute('type') || 'text').toLowerCase() : '';
    const own = said((el.getAttribute('role') || '').split(' ')[0]).replace(/[^a-z-]/gi, '').replace(/^(none|presentation|generic)$/i, '').slice(0, 30);
    const role = own ? own.replace(/-/g, ' ') : /^h[1-6]$/.test(tag) ? 'heading' : tag === 'a' && !el.hasAttribute('href') ? ''
      : tag === 'input' ? INPUTS[type] || (type === 'hidden' ? '' : 'text field') : ROLES[tag] || '';
    const field = ['input', 'select', 'textarea'].includes(tag);
    const by = (ids) => ids.split(/\s+/).map(id => document.getElementById(id)).filter(Boolean).map(n => n.innerText || n.textContent || '').join(' ');
    let name = '';
    for (const f of [
      () => el.getAttribute('aria-labelledby') && by(el.getAttribute('aria-labelledby')),
      () => el.getAttribute('aria-label'),
      () => (['img', 'area'].includes(tag) || type === 'image') && el.getAttribute('alt'),
      () => field && el.labels && [...el.labels].map(l => l.innerText || l.textContent || '').join(' '),
      () => field && (['submit', 'button', 'reset'].includes(type) ? el.value : el.getAttribute('placeholder')),
      () => !field && (el.innerText || (tag === 'svg' && el.querySelector('title') && el.querySelector('title').textContent)),
      () => el.getAttribute('title'),
    ]) { try { name = said(f() || ''); } catch (_) { name = ''; } if (name) break; }
    return { role: role || (name ? '' : `${tag} element`), name: name ? bounded(name, NAME_CHARS) : '' };
  }
  // The same without an element (a refused submission's, from the outbox, on a page that has moved on): its text.
  function whatItWas(anchor) {
    const name = anchor.text_quote ? bounded(said(anchor.text_quote.exact), NAME_CHARS) : '';
    return { role: name ? '' : 'an element', name };
  }
  function anchorOf(el) {
    if (!el) return { whole_page: true };
    const r = el.getBoundingClientRect();
    return { css: clip(cssPath(el), 2000), xpath: clip(xpath(el), 2000), text_quote: textQuote(el),
      box: { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height }, whole_page: false };
  }
  // An anchor's element: by its selector or XPath (`byPath`, cheap), else by its text (`byText`, a walk of the page).
  function byPath(anchor) {
    if (!anchor || anchor.whole_page) return null;
    try { const el = anchor.css && document.querySelector(anchor.css); if (el) return el; } catch (_) { /* selector from an older page */ }
    try { const el = anchor.xpath && document.evaluate(anchor.xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; if (el) return el; } catch (_) { /* ditto */ }
    return null;
  }
  function byText(anchor) {
    if (anchor && !anchor.whole_page && anchor.text_quote) {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT);
      let best = null;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n !== host && squash(n.innerText || '').trim() === anchor.text_quote.exact) best = n;
      if (best) return best;
    }
    return null;
  }
  // A single-page app moves between its pages with the History API, which no event reports: `then` runs once the
  // address has changed. The Navigation API says so where there is one; elsewhere the address is compared twice a
  // second (a string comparison). Back and forward fire popstate. One watcher, however many ask (review mode and
  // the visitor's widget both do in a framed preview that carries the site's tag).
  const onAddress = [];
  function onAddressChange(then) {
    if (!onAddress.length) {
      let seen = location.href;
      const check = () => { if (location.href !== seen) { seen = location.href; for (const f of onAddress) f(); } };
      addEventListener('popstate', check);
      addEventListener('hashchange', check);
      if (window.navigation && typeof navigation.addEventListener === 'function') navigation.addEventListener('currententrychange', check);
      else setInterval(check, 500);
    }
    onAddress.push(then);
  }
  // -- review mode: the review page's protocol, the same messages as static/review/agent.js (see its header) --
  // Framed by the review page (`workbench serve`'s /review/<id>, the server this script came from), the widget
  // tells it what is under a pin and where earlier pins' elements are now. Messages are posted to that origin
  // only and accepted from it only (and only from the parent window), so no other page can ask.
  let onReviewPage = () => {}; // the visitor UI sets this: the review page has its own, the widget's steps aside
  function reviewProtocol() {
    if (window.parent === window || window.__gfReviewAgent) return false;
    window.__gfReviewAgent = true;
    const origin = new URL(BASE, location.href).origin;
    const post = (message) => window.parent.postMessage(message, origin);
    const round = n => Math.round(n * 100) / 100;
    const pct = n => round(Math.min(100, Math.max(0, n)));
    const pageSize = () => {
      const de = document.documentElement, body = document.body || de;
      return { width: Math.max(de.scrollWidth, body.scrollWidth, innerWidth), height: Math.max(de.scrollHeight, body.scrollHeight, innerHeight) };
    };
    const found = (sel) => { try { const all = document.querySelectorAll(sel); return all.length === 1 ? all[0] : null; } catch (_) { return null; } };
    let items = [];
    function anchors() {
      const out = {};
      for (const item of items) {
        const el = typeof item.selector === 'string' && found(item.selector);
        if (!el) continue; // the page falls back to the stored percentages
        const r = el.getBoundingClientRect();
        const dx = Number.isFinite(item.offsetX) ? Math.min(Math.max(item.offsetX, 0), r.width) : r.width / 2;
        const dy = Number.isFinite(item.offsetY) ? Math.min(Math.max(item.offsetY, 0), r.height) : r.height / 2;
        out[item.id] = { x: round(r.left + scrollX + dx), y: round(r.top + scrollY + dy) };
      }
      return out;
    }
    function view() {
      const size = pageSize();
      return { type: 'gf-review:view', path: location.pathname, scrollX, scrollY, width: innerWidth, height: innerHeight,
        docWidth: size.width, docHeight: size.height, anchors: anchors() };
    }
    function locate(x, y) {
      const hit = document.elementFromPoint(x, y);
      const el = hit && hit.nodeType === 1 && !hit.hasAttribute('data-gf-widget') ? hit : document.body;
      const r = el.getBoundingClientRect();
      const size = pageSize();
      const css = cssPath(el);
      return { path: location.pathname, selector: css && unique(css, el) ? clip(css, 2000) : null,
        offsetX: round(x - r.left), offsetY: round(y - r.top),
        pinX: pct(((x + scrollX) / size.width) * 100), pinY: pct(((y + scrollY) / size.height) * 100) };
    }
    window.addEventListener('message', (event) => {
      if (event.origin !== origin || event.source !== window.parent) return;
      const m = event.data;
      if (!m || typeof m !== 'object') return;
      onReviewPage();
      if (m.type === 'gf-review:locate' && Number.isFinite(m.x) && Number.isFinite(m.y)) post(Object.assign({ type: 'gf-review:located', id: m.id }, locate(m.x, m.y)));
      else if (m.type === 'gf-review:hello') post(view());
      else if (m.type === 'gf-review:anchors' && Array.isArray(m.items)) { items = m.items.slice(0, 1000); post(view()); }
    });
    // After a click in the preview the keyboard is the frame's: pass the review page's own keys up.
    window.addEventListener('keydown', (e) => {
      const editing = e.target instanceof Element && e.target.closest('input, textarea, select, [contenteditable]');
      // c as the review page takes it (its addKey): Caps Lock, Shift, and the C key of a non-Latin layout too.
      const k = String(e.key || ''); // Chrome's autofill sends keydowns without a key
      const key = k.toLowerCase() === 'c' || (e.code === 'KeyC' && !/^[a-z]$/i.test(k)) ? 'c' : k === 'Escape' ? k : null;
      if (!editing && !e.ctrlKey && !e.metaKey && !e.altKey && key) post({ type: 'gf-review:key', key });
    });
    let queued = false;
    const report = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; post(view()); }); } };
    window.addEventListener('scroll', report, { passive: true });
    window.addEventListener('resize', report);
    window.addEventListener('load', report);
    // A preview that is a single-page app changes its route, and its height as the route renders, with no load:
    // the review page kept the first route's pins, and placed pins by its height.
    onAddressChange(report);
    if (typeof ResizeObserver === 'function') new ResizeObserver(report).observe(document.documentElement);
    report();
    return true;
  }
  reviewProtocol();
  if (REVIEW_ONLY) return;

  // -- recent console errors and failed requests: the loader's rings (it started them before the page's load) --
  const consoleRing = W.console;
  const networkRing = W.network;

  // -- who this browser is --------------------------------------------------------------------------
  const params = new URLSearchParams(location.search);
  // A stakeholder's link (?gf_stakeholder=TOKEN), which the loader took out of the address bar: remembered.
  if (W.stakeholder) { store.set('stakeholder', clip(W.stakeholder, 200)); delete W.stakeholder; }
  const stakeholderToken = () => script.dataset.stakeholderToken || store.get('stakeholder');
  // A remembered link (?gf_stakeholder=) the server refused, forgotten by this page: the form says so. Forgotten
  // without a word, a stakeholder who came by their link was told only that the site did not know them.
  let forgotten = false;
  const forget = () => { store.del('stakeholder'); forgotten = true; };
  const submitterKey = () => { let k = store.get('key'); if (!k) { k = randomKey(); store.set('key', k); } return k; };
  const headers = (extra) => Object.assign({ 'X-GF-Widget-Token': TOKEN }, extra || {});

  function stylesOf(el) {
    if (!el) return null;
    const cs = getComputedStyle(el);
    const out = {};
    for (const p of STYLES) out[p] = clip(cs.getPropertyValue(p), 500);
    return out;
  }

  // -- the screenshot: html-to-image (vendored in the package), loaded when first needed ----------------
  let libLoading = null;
  function loadLib() {
    if (window.htmlToImage) return Promise.resolve(window.htmlToImage);
    libLoading = libLoading || new Promise((ok, fail) => {
      const s = document.createElement('script');
      s.src = W.tt ? W.tt.createScriptURL(`${BASE}/widget/html-to-image.js`) : `${BASE}/widget/html-to-image.js`;
      s.onload = () => (window.htmlToImage ? ok(window.htmlToImage) : fail(new Error('screenshot library did not load')));
      s.onerror = () => { libLoading = null; fail(new Error('screenshot library unreachable')); };
      document.head.appendChild(s);
    });
    return libLoading;
  }
  const within = (p, ms, late) => Promise.race([p, new Promise((_, fail) => setTimeout(() => { if (late) late(); fail(new Error('timed out')); }, ms))]);
  // `view` gets the scroll the picture was taken at: with it the TUI can put the element's box on the picture.
  async function screenshot(el, view) {
    const lib = await within(loadLib(), 5000);
    const html = document.documentElement, body = document.body;
    const bg = [html, body].map(n => getComputedStyle(n).backgroundColor).find(c => c && c !== 'rgba(0, 0, 0, 0)') || '#ffffff';
    // Measured first: the capture takes a while, and the visitor may scroll meanwhile.
    const r = el && el.getBoundingClientRect(), sx = scrollX, sy = scrollY;
    view.scroll_x = sx; view.scroll_y = sy;
    // The viewport only: a whole long page passes the canvas limit (16,384 px) and came back scaled down, so the
    // crop showed another part of the page. The copy of <html> is laid out as the page is, in a box the
    // viewport's size, and lifted by the scroll with a negative margin. A margin, not a transform: a transformed
    // ancestor holds fixed elements (a bar fixed to the screen's bottom was drawn on the page's first screen), while
    // in the copy's box, as on the screen, fixed elements sit on it and sticky ones stick to its top. And the
    // body's own margins collapse with the lift as they do on the page (a copy of the body alone lost them).
    // What lies wholly below the viewport is left out of the copy, which costs milliseconds an element on the page's
    // own thread (a long page froze for seconds): in a block's flow nothing above depends on it, and each copied
    // parent keeps its measured height. Fixed and sticky elements, and what holds them, are always copied.
    // What lies wholly above cannot simply go (what follows would move up): a run of such blocks keeps its first and
    // last, and those between become one empty box of their height (html-to-image's `spacer`, one of our changes to it).
    // Only where height is all they give: no floats, counters or list items (what follows would wrap or count
    // otherwise), nothing reaching into view, no columns, and plain margins at both ends (none collapsing through).
    // List items only of a plain <ul>/<ol> (items only, none with a `value`, not reversed, no counters of the page's):
    // each one's number is its start plus its place, so the kept last item of a run gets its own back (`value` for
    // its marker, counter-set for a counter(list-item)) and those after it count on from there.
    const keep = new Set(), bottom = sy + innerHeight, all = [...body.querySelectorAll('*')];
    const style = new Map(), reach = new Map(), odd = new Set(), lists = new Map(), renumber = new Map();
    const counts = cs => [cs.counterReset, cs.counterIncrement, cs.counterSet].some(c => c && c !== 'none');
    const listed = (n) => {
      const l = n.parentElement;
      if (n.tagName !== 'LI' || !l || !/^(UL|OL)$/.test(l.tagName)) return false;
      if (!lists.has(l)) lists.set(l, !l.reversed && !counts(style.get(l)) && [...l.children].every(c => c.tagName === 'LI' && !c.hasAttribute('value')));
      return lists.get(l);
    };
    for (const n of all) {
      const cs = getComputedStyle(n);
      style.set(n, cs);
      if (/^(fixed|sticky)$/.test(cs.position)) for (let a = n; a && !keep.has(a); a = a.parentElement) keep.add(a);
      if (cs.float !== 'none' || (cs.display === 'list-item' && !listed(n)) || counts(cs)) odd.add(n);
    }
    // Each copied block keeps its measured height, and a block of fixed height keeps its last child's bottom margin
    // inside: where that margin collapsed through the block's bottom on the page (<header><h1>), the copy gets it as
    // the block's own bottom margin, or all that follows moves up. Top margins collapse through in the copy too;
    // both are known here to measure the gaps below.
    const px = v => parseFloat(v) || 0, collapse = (a, b) => Math.max(a, b, 0) + Math.min(a, b, 0);
    const below = new Map(), above = new Map();
    const marginBelow = n => (below.has(n) ? below.get(n) : px(style.get(n).marginBottom));
    const marginAbove = n => (above.has(n) ? above.get(n) : px(style.get(n).marginTop));
    const inFlow = (n, last) => {
      for (let c = last ? n.lastChild : n.firstChild; c; c = last ? c.previousSibling : c.nextSibling) {
        if (c.nodeType === 3 && c.data.trim()) return null; // a line of text
        const cs = c.nodeType === 1 && style.get(c);
        if (!cs || cs.display === 'none' || cs.float !== 'none' || /^(absolute|fixed)$/.test(cs.position)) continue;
        return /^(block|list-item)$/.test(cs.display) ? c : null;
      }
      return null;
    };
    // An absolutely placed element with no placed ancestor is placed against the page's first screen; in the copy
    // against the picture's box, which the lift does not move: it gets its place on the screen instead.
    const onScreen = new Set();
    const placed = (a) => { const as = style.get(a) || getComputedStyle(a); return as.position !== 'static' || as.transform !== 'none' || as.filter !== 'none' || as.contain !== 'none'; };
    for (const n of all) {
      if (style.get(n).position !== 'absolute') continue;
      let a = n.parentElement;
      while (a && !placed(a)) a = a.parentElement;
      if (!a) onScreen.add(n); // past <html>: placed against the page's first screen
    }
    // One pass, children before their parents: each parent gets its subtree's lowest point, and each block the
    // margins that collapse through its ends (from its first and last child's, known by then).
    // The same pass gives each element its subtree's other ends too (`spans`: top, left, right, on the page), for the
    // flex and grid items copied empty below.
    const spans = new Map(), widen = (n, [t, l, r]) => {
      const o = spans.get(n);
      spans.set(n, o ? [Math.min(o[0], t), Math.min(o[1], l), Math.max(o[2], r)] : [t, l, r]);
    };
    for (let i = all.length - 1; i >= 0; i--) {
      const n = all[i], cs = style.get(n), p = n.parentElement, ps = p && style.get(p), r = n.getBoundingClientRect();
      const low = Math.max(reach.has(n) ? reach.get(n) : -Infinity, Math.max(r.bottom, r.top + n.scrollHeight) + sy);
      reach.set(n, low);
      // Content overflowing sideways reaches as far as its scroll width, either way (right to left runs leftwards).
      widen(n, [r.top + sy, Math.min(r.left, r.right - n.scrollWidth) + sx, Math.max(r.right, r.left + n.scrollWidth) + sx]);
      if (p) widen(p, spans.get(n));
      if (p) { reach.set(p, Math.max(reach.has(p) ? reach.get(p) : -Infinity, low)); if (odd.has(n)) odd.add(p); }
      if (!/^(block|list-item)$/.test(cs.display) || cs.overflowY !== 'visible' || cs.float !== 'none' || !/^(static|relative)$/.test(cs.position)
        || cs.contain !== 'none' || cs.columnCount !== 'auto' || (ps && /(flex|grid)$/.test(ps.display))) continue;
      const last = !px(cs.paddingBottom) && !px(cs.borderBottomWidth) && inFlow(n, true);
      if (last && Math.abs(last.getBoundingClientRect().bottom - r.bottom) < 0.5) below.set(n, collapse(px(cs.marginBottom), marginBelow(last)));
      const first = !px(cs.paddingTop) && !px(cs.borderTopWidth) && inFlow(n, false);
      if (first && Math.abs(first.getBoundingClientRect().top - r.top) < 0.5) above.set(n, collapse(px(cs.marginTop), marginAbove(first)));
    }
    // A feed, a flex column whose items stack in their order from its top, is a block's flow with gaps: its items above
    // stand in as one box too, and those below go. Each kept item is copied with its measured height and no flex
    // (restyle), so the space left by those below does not grow or shrink it; the column keeps its own height.
    // A row gap in pixels, or none: one in percent stays so when computed, and its height is not known here.
    const gapOf = cs => (cs.rowGap === 'normal' ? 0 : /^[\d.]+px$/.test(cs.rowGap) ? px(cs.rowGap) : NaN);
    const feeds = new Set();
    for (const n of all) {
      const cs = style.get(n);
      if (/^(inline-)?flex$/.test(cs.display) && !Number.isNaN(gapOf(cs)) && cs.flexDirection === 'column' && cs.flexWrap === 'nowrap'
        && /^(normal|flex-start|start|stretch)$/.test(cs.justifyContent) && [...n.children].every(c => style.get(c).order === '0')) feeds.add(n);
    }
    const spaced = new Map(), dropped = new Set(), gone = new Set();
    const top = n => n.getBoundingClientRect().top, low = n => n.getBoundingClientRect().bottom;
    // Flex and grid items' margins never collapse: from one's margin box to the next's is what lies between them.
    const edge = c => top(c) - px(style.get(c).marginTop), between = (a, b) => edge(b) - low(a) - px(style.get(a).marginBottom);
    const boxed = c => style.get(c).display !== 'none';
    const plain = c => boxed(c) && style.get(c).position === 'static' && style.get(c).transform === 'none';
    const asComputed = (a, b) => Math.abs(top(b) - low(a) - collapse(marginBelow(a), marginAbove(b))) < 0.5;
    // A grid of cards (a product list) placed by its flow alone fills row after row with as many items as it has
    // columns. Its rows wholly above stand in as one item across every column, in one track as tall as theirs and
    // the gaps between them, and its rows wholly below go: the copy keeps the page's measured tracks otherwise, so
    // each kept card keeps its cell. Not with named lines or areas, placed or spanning items, `order` or dense packing.
    // A wrapping flex row of cards fills line after line from its start the same way: its lines (items sharing a top)
    // wholly above stand in as one item as wide as the row, alone on its line, and its lines wholly below go; the copy
    // packs its lines from the start, so the room those leave is not shared among the kept ones. Only where each line is
    // as tall as its tallest item (what follows it would move up otherwise) and its items are not aligned apart.
    const tracks = new Map(), packed = new Set();
    const pinned = c => keep.has(c) || odd.has(c); // always copied: holds a fixed or sticky element, a float or counter
    const atStart = v => /^(normal|stretch|flex-start|start|auto)$/.test(v);
    for (const g of all) {
      const gs = style.get(g), grid = /^(inline-)?grid$/.test(gs.display);
      const wrap = /^(inline-)?flex$/.test(gs.display) && gs.flexDirection === 'row' && gs.flexWrap === 'wrap' && atStart(gs.alignItems) && atStart(gs.alignContent);
      if (!(grid || wrap) || Number.isNaN(gapOf(gs))) continue;
      if (grid && (gs.gridAutoFlow !== 'row' || gs.gridTemplateAreas !== 'none'
        || /[^\d.px ]/.test(`${gs.gridTemplateRows} ${gs.gridTemplateColumns}`))) continue; // a track list in pixels: laid out, no names
      const kids = [...g.children], made = w => !/^(none|normal)$/.test(getComputedStyle(g, w).content);
      // Text and ::before / ::after boxes are items too, which the rows counted below would not count.
      if ([...g.childNodes].some(t => t.nodeType === 3 && t.data.trim()) || made('::before') || made('::after')) continue;
      if (!kids.every(c => { const cs = style.get(c); return cs.order === '0' && cs.display !== 'contents' && /^(static|relative)$/.test(cs.position)
        && (grid ? [cs.gridRowStart, cs.gridRowEnd, cs.gridColumnStart, cs.gridColumnEnd].every(v => v === 'auto')
          : atStart(cs.alignSelf) && cs.transform === 'none' && cs.translate === 'none' && [cs.top, cs.left].every(v => /^(auto|0px)$/.test(v))); })) continue;
      const items = kids.filter(boxed), gap = gapOf(gs), rows = [], trackList = grid ? gs.gridTemplateRows.split(' ') : [];
      if (grid) {
        const n = gs.gridTemplateColumns.split(' ').length;
        for (let i = 0; i < items.length; i += n) rows.push(items.slice(i, i + n));
        if (trackList.length !== rows.length) continue; // its tracks are not one per row of items
      } else {
        for (const c of items) if (rows.length && Math.abs(edge(c) - edge(rows[rows.length - 1][0])) < 0.5) rows[rows.length - 1].push(c); else rows.push([c]);
        const tall = r => Math.max(...r.map(c => low(c) + px(style.get(c).marginBottom))) - edge(r[0]);
        if (!rows.every((r, i) => i === rows.length - 1 || Math.abs(edge(rows[i + 1][0]) - edge(r[0]) - tall(r) - gap) < 0.5)) continue;
      }
      let k = 0, end = rows.length;
      while (k < rows.length - 1 && rows[k].every(c => !pinned(c) && reach.get(c) < sy - 64)) k++;
      while (end > k + 1 && rows[end - 1].every(c => !pinned(c) && top(c) + sy >= bottom)) end--;
      for (const r of rows.slice(end)) for (const c of r) dropped.add(c);
      if (!grid && end < rows.length) packed.add(g);
      if (!k) continue;
      const height = grid ? trackList.slice(0, k).reduce((h, t) => h + px(t), 0) + (k - 1) * gap
        : edge(rows[k][0]) - edge(rows[0][0]) - gap;
      const box = document.createElement('div');
      box.style.cssText = `display: block; ${grid ? 'grid-column: 1 / -1' : 'flex: 0 0 100%; min-width: 0'}; height: ${height}px; margin: 0; padding: 0; border: 0`;
      const first = rows[k][0];
      spaced.set(kids[0], box);
      for (let c = kids[0].nextElementSibling; c && c !== first; c = c.nextElementSibling) dropped.add(c);
      if (grid) tracks.set(g, `${height}px ${trackList.slice(k).join(' ')}`);
      else packed.add(g);
    }
    // A table's body (an order list, a log) lays its rows out one under the other, each as tall as its own cells: its
    // rows wholly above stand in as one row of their height, and its rows wholly below go. The columns keep their
    // widths, as every copied cell carries its measured width. Not where a cell spans rows (its row would lose it),
    // nor rows placed, moved or pinned, nor where the spacing between rows is uneven. A copied table and its body keep
    // no measured height (restyle): a table's height is its least, and the room left by the rows that go would be
    // shared out among those kept.
    const unheld = new Set();
    for (const g of all) {
      if (g.tagName !== 'TBODY' || style.get(g).display !== 'table-row-group') continue;
      const rows = [...g.children];
      if (!rows.length || !rows.every(r => r.tagName === 'TR' && style.get(r).display === 'table-row' && plain(r)
        && [...r.cells].every(c => c.rowSpan === 1))) continue;
      let k = 0, end = rows.length;
      while (k < rows.length - 1 && !pinned(rows[k]) && reach.get(rows[k]) < sy - 64) k++;
      while (end > k + 1 && !pinned(rows[end - 1]) && top(rows[end - 1]) + sy >= bottom) end--;
      for (const r of rows.slice(end)) dropped.add(r);
      if (end < rows.length) unheld.add(g).add(g.parentElement);
      const gap = k > 1 && top(rows[k]) - low(rows[k - 1]);
      if (k < 2 || Math.abs(top(rows[1]) - low(rows[0]) - gap) >= 0.5) continue;
      const box = document.createElement('tr'), cell = document.createElement('td');
      box.style.cssText = 'display: table-row';
      cell.style.cssText = `display: table-cell; height: ${top(rows[k]) - top(rows[0]) - gap}px; padding: 0; border: 0`;
      box.appendChild(cell);
      spaced.set(rows[0], box);
      for (const r of rows.slice(1, k)) dropped.add(r);
      unheld.add(g).add(g.parentElement);
    }
    // Any other flex or grid item wholly out of view is copied empty: its own box, with its measured size (and that as
    // its least, so no room freed elsewhere shrinks it), and none of what it holds. An item lays out its content on
    // its own (its margins never collapse with it), and its siblings see only its box, so nothing in view moves.
    // Out of view: all it draws (its subtree's boxes, an absolutely placed child reaching up included) lies above,
    // below or beside the viewport, or beside or above or below its container's box where that clips (a carousel's
    // far cards, a scrolled panel's rows), unless it holds an element placed against something outside that
    // container, which the clip does not hold. Not an item aligned by its baseline (its content gives that), nor one
    // of many boxes (split by a column), nor one holding a fixed, sticky or floated element, a counter or a shadow root.
    const outer = new Map(); // what holds an absolutely placed element -> the outermost element one is placed against
    for (const n of all) {
      if (style.get(n).position !== 'absolute') continue;
      let a = n.parentElement;
      while (a && !placed(a)) a = a.parentElement;
      for (let x = n.parentElement; x && x !== a; x = x.parentElement) if (!outer.has(x) || !a || a.contains(outer.get(x))) outer.set(x, a);
    }
    const right = sx + innerWidth;
    const unseen = (n, p, ps) => {
      const [t, l, r] = spans.get(n), b = reach.get(n);
      if (b < sy - 64 || t >= bottom || r < sx - 64 || l >= right + 64) return true;
      // Itself placed (against what, the clip may not hold), or holding one placed outside the container: drawn anyway.
      if (style.get(n).position === 'absolute' || (outer.has(n) && outer.get(n) !== p)) return false;
      const c = p.getBoundingClientRect(), x = ps.overflowX !== 'visible', y = ps.overflowY !== 'visible';
      return (x && (r <= c.left + sx || l >= c.right + sx)) || (y && (b <= c.top + sy || t >= c.bottom + sy));
    };
    const emptied = new Set(), baseline = v => /baseline/.test(v);
    for (const n of all) {
      const p = n.parentElement, ps = p && style.get(p), cs = style.get(n);
      if (!ps || !/^(inline-)?(flex|grid)$/.test(ps.display) || pinned(n) || n.shadowRoot || !n.firstChild
        || !/^(block|flex|grid|flow-root|list-item)$/.test(cs.display) || baseline(ps.alignItems) || baseline(cs.alignSelf)
        || !unseen(n, p, ps) || n.getClientRects().length !== 1) continue;
      emptied.add(n);
    }
    for (const p of [body, ...all]) {
      if (dropped.has(p) || spaced.has(p) || gone.has(p.parentElement)) { gone.add(p); continue; }
      const ps = style.get(p) || getComputedStyle(p), flex = feeds.has(p);
      if ((!flex && !/^(block|flow-root|list-item)$/.test(ps.display)) || ps.columnCount !== 'auto' || ps.columnWidth !== 'auto' || ps.writingMode !== 'horizontal-tb') continue;
      // A feed's items: margins never collapse, and a row gap lies between each two.
      const gap = flex ? gapOf(ps) : 0;
      const fits = flex ? (a, b) => Math.abs(between(a, b) - gap) < 0.5 : asComputed;
      let run = [];
      const end = () => {
        // First and last stay; their boxes (no offset, no transform) and margins give the gap's height.
        while (run.length && !plain(run[0])) run.shift();
        while (run.length && !plain(run[run.length - 1])) run.pop();
        const a = run[0], b = run[run.length - 1], inner = run.slice(1, -1).filter(boxed);
        if (inner.length && fits(a, inner[0]) && fits(inner[inner.length - 1], b)) {
          const height = flex ? between(a, b) - 2 * gap : top(b) - marginAbove(b) - low(a) - marginBelow(a);
          if (height > 0) {
            const box = document.createElement('div');
            box.style.cssText = `display: block; flex: none; height: ${height}px; margin: 0; padding: 0; border: 0`;
            spaced.set(run[1], box);
            for (let n = run[1].nextSibling; n && n !== b; n = n.nextSibling) dropped.add(n);
            if (style.get(b).display === 'list-item') {
              let k = p.tagName === 'OL' ? p.start : 1;
              for (let c = p.firstElementChild; c !== b; c = c.nextElementSibling) if (style.get(c).display === 'list-item') k++;
              renumber.set(b, k);
            }
          }
        }
        run = [];
      };
      for (let c = p.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 8 || (c.nodeType === 3 && !c.data.trim())) continue; // comments and blanks between blocks make no box
        const cs = c.nodeType === 1 && style.get(c);
        // A shadow root's boxes are not among the page's elements measured above.
        if (cs && c !== host && !c.shadowRoot && !keep.has(c) && !odd.has(c) && (cs.display === 'none'
          || ((flex ? cs.display !== 'contents' : /^(block|flow-root|list-item)$/.test(cs.display))
            && /^(static|relative)$/.test(cs.position) && reach.get(c) < sy - 64))) run.push(c);
        else end();
      }
      end();
    }
    // A panel scrolled inside the page (an app's `main`, a carousel) is laid out anew in the copy, at its start: each of
    // its children is moved by the panel's scroll instead, with `translate`, which moves what it draws, not the layout.
    // Not one holding a fixed element, or an absolute one placed against something outside it: translated, the child
    // would be what places them. A sticky one is moved to where it is stuck (below).
    const scrolled = new Map(), unmoved = new Set(), stuck = new Map();
    for (const n of [body, ...all]) if (n.scrollTop || n.scrollLeft) scrolled.set(n, [n.scrollLeft, n.scrollTop]);
    if (scrolled.size) {
      const sticky = [];
      for (const d of all) {
        const pos = style.get(d).position;
        if (pos === 'sticky') sticky.push(d);
        if (pos !== 'absolute' && pos !== 'fixed') continue;
        let holder = d.parentElement;
        while (holder && (pos === 'fixed' || !placed(holder))) holder = holder.parentElement;
        for (let c = d.parentElement; c && c !== holder; c = c.parentElement) unmoved.add(c);
        // Nor is it moved itself by a scroll its holder is outside of (a badge in a carousel's corner, a bar fixed to the
        // screen): only its holder's scroll moves it.
        if (d.parentElement !== holder) unmoved.add(d);
      }
      // A sticky element sticks in its scroller, which in the copy is not scrolled: where that is a scrolled panel, the
      // copy put it at its place in the flow (a table's header cell thousands of pixels up, a section title far below),
      // not stuck at the panel's edge as on the screen. It is copied unstuck (relative, no offsets: laid out as in the
      // flow, and still what places its absolute children), moved with its panel's content, and then by how far its
      // stickiness moved it on the screen. That is measured against its place unstuck, which no property gives
      // (offsetTop counts the stickiness): it is made static for one synchronous look, never painted, and its own
      // style attribute put back as it was.
      const scroller = (d) => { let a = d.parentElement; while (a && a !== html && style.get(a) && !/(auto|scroll|hidden)/.test(style.get(a).overflowX + style.get(a).overflowY)) a = a.parentElement; return a; };
      const moved = sticky.filter(d => !unmoved.has(d) && style.get(d).translate === 'none' && scrolled.has(scroller(d)));
      const at = moved.map(d => d.getBoundingClientRect()), was = moved.map(d => d.getAttribute('style'));
      for (const d of moved) d.style.setProperty('position', 'static', 'important');
      moved.forEach((d, i) => { const s = d.getBoundingClientRect(); stuck.set(d, [at[i].left - s.left, at[i].top - s.top]); });
      moved.forEach((d, i) => (was[i] === null ? d.removeAttribute('style') : d.setAttribute('style', was[i])));
      for (const d of sticky) if (!stuck.has(d)) unmoved.add(d);
    }
    // A translated box paints as a placed one does, in the document's order, over all the plain flow (the page's order
    // for placed boxes puts them over all that flow, whatever follows): a menu dropped from one of the panel's children, a
    // title stuck on them, went under the children that follow. So each moved child that is placed itself or holds a
    // placed box (or one see-through) is lifted one step, all the same step, which keeps their order among themselves.
    const holds = new Set();
    if (scrolled.size) {
      for (const e of all) {
        if (!placed(e) && style.get(e).opacity === '1') continue;
        for (let a = e; a && !holds.has(a); a = a.parentElement) holds.add(a);
      }
    }
    // So does what the moved children now paint over, which on the screen paints over them: a box placed in the panel
    // but not moved with it (a badge placed against a box around a carousel), or one over the panel from before it in the
    // document (a mark laid on it). Placed ones only: a z-index needs one, and making a box placed changes what its
    // absolute children are placed against.
    const lifted = new Set();
    for (const [p] of scrolled) {
      if (![...p.children].some(c => !unmoved.has(c) && style.has(c) && style.get(c).translate === 'none')) continue;
      const pr = p.getBoundingClientRect();
      for (const e of all) {
        if (style.get(e).position === 'static' || style.get(e).zIndex !== 'auto' || e.contains(p)) continue;
        if (p.contains(e)) {
          let c = e;
          while (c.parentElement !== p) c = c.parentElement;
          if (unmoved.has(c)) lifted.add(e); // within a moved child, it is lifted with it (above)
        } else if (e.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING) {
          const er = e.getBoundingClientRect();
          if (er.right > pr.left && er.left < pr.right && er.bottom > pr.top && er.top < pr.bottom) lifted.add(e);
        }
      }
    }
    // Not <head>: its stylesheets would apply again inside the copy, whose computed styles are inline already.
    const filter = n => n !== host && n !== document.head && !spaced.has(n) && !dropped.has(n) && !emptied.has(n.parentElement) && (n.nodeType !== 1 || keep.has(n) || !n.parentElement // a shadow root's child
      || !(feeds.has(n.parentElement) || /^(block|flow-root|list-item)$/.test(getComputedStyle(n.parentElement).display))
      || !/^(static|relative)$/.test(getComputedStyle(n).position) || n.getBoundingClientRect().top + sy < bottom);
    // The copy is a chain of promises, which held the page's thread to its end (seconds in a long feed): the page froze,
    // and the limit, a timer, could not fire. Every 8 ms it waits for a message (a nested setTimeout waits 4 ms more),
    // so the page gets its turn; past the limit it throws, which stops the copy rather than leaving it to run unseen.
    let stop = null, slice = performance.now();
    const pace = (n) => {
      if (stop) throw stop;
      if (performance.now() - slice < 8) return n;
      return new Promise((ok) => {
        const c = new MessageChannel();
        c.port1.onmessage = () => { c.port1.close(); slice = performance.now(); ok(); };
        c.port2.postMessage(0);
      }).then(() => { if (stop) throw stop; return n; });
    };
    // overflow and height: a page's `html { height: 100%; overflow-x: hidden }` would clip the lifted copy to its first screen.
    const canvas = await within(lib.toCanvas(html, { filter, pace, spacer: n => spaced.get(n) || null, restyle: (n, copy) => {
        if (below.has(n) && below.get(n) !== px(style.get(n).marginBottom)) copy.style.marginBottom = `${below.get(n)}px`;
        // Elements only: a feed's loose words are its children too, copied as text nodes, which have no style (it threw).
        if (n.nodeType === 1 && n.parentElement && feeds.has(n.parentElement)) copy.style.flex = 'none';
        if (tracks.has(n)) copy.style.gridTemplateRows = tracks.get(n);
        if (packed.has(n)) copy.style.alignContent = 'flex-start';
        if (unheld.has(n)) copy.style.height = 'auto';
        if (emptied.has(n)) Object.assign(copy.style, { minWidth: style.get(n).width, minHeight: style.get(n).height });
        const by = n.nodeType === 1 && style.has(n) && !unmoved.has(n) && scrolled.get(n.parentElement);
        const moved = by && style.get(n).translate === 'none';
        if (moved) copy.style.translate = `${-by[0]}px ${-by[1]}px`;
        if (stuck.has(n)) {
          const [x, y] = stuck.get(n), [bx, byy] = by || [0, 0];
          Object.assign(copy.style, { position: 'relative', top: 'auto', right: 'auto', bottom: 'auto', left: 'auto', translate: `${x - bx}px ${y - byy}px` });
        }
        if ((((stuck.has(n) || moved) && holds.has(n)) || lifted.has(n)) && style.get(n).zIndex === 'auto') {
          // A z-index needs a placed box: relative with no offsets moves nothing, and the translate already places what it holds.
          copy.style.zIndex = '1';
          if (copy.style.position === 'static') copy.style.position = 'relative';
        }
        if (renumber.has(n)) { copy.setAttribute('value', renumber.get(n)); copy.style.counterSet = `list-item ${renumber.get(n)}`; }
        if (onScreen.has(n)) Object.assign(copy.style, { top: `${px(style.get(n).top) - sy}px`, left: `${px(style.get(n).left) - sx}px`, bottom: 'auto', right: 'auto' });
      }, pixelRatio: 1, cacheBust: false, skipFonts: true, width: innerWidth, height: innerHeight,
      backgroundColor: bg, style: { width: `${html.clientWidth}px`, height: 'auto', overflow: 'visible', marginTop: `${-sy}px`, marginLeft: `${-sx}px` } }),
    8000, () => { stop = new Error('timed out'); });
    if (r) {
      const ctx = canvas.getContext('2d');
      ctx.strokeStyle = '#e11d48'; ctx.lineWidth = 3;
      ctx.strokeRect(r.left - 2, r.top - 2, r.width + 4, r.height + 4);
    }
    const png = canvas.toDataURL('image/png');
    return png.length <= 1_500_000 ? png : canvas.toDataURL('image/jpeg', 0.8);
  }

  // -- the offline queue: every submission waits in localStorage until the server has it ----------------
  // An item the server refuses for good (a 4xx but 401/408/409/429) stays, marked `refused` with the reason,
  // until the visitor corrects it in the form or drops it: a refusal never loses the words.
  let flushing = false;
  let retryTimer = null;
  let retryDelay = 1000;
  const queue = () => store.get('outbox') || [];
  const waiting = () => queue().find(i => !i.refused);
  function saveQueue(items) {
    if (store.set('outbox', items)) return true;
    // Over the page's storage quota: keep the words, drop the pictures (the full copy stays in memory).
    const full = items;
    if (store.set('outbox', items.map(i => Object.assign({}, i, { payload: Object.assign({}, i.payload, { screenshot: null }) })))) {
      mem.outbox = full;
      return true;
    }
    return false;
  }
  // wait: what the server's Retry-After asked for (ms); retrying sooner only meets the same limit again.
  function scheduleRetry(wait) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, Math.max(retryDelay, wait));
    retryDelay = Math.min(retryDelay * 2, 8000);
  }
  function retryAfter(res) {
    const v = String((res && res.headers.get('Retry-After')) || '').trim();
    const s = /^\d+$/.test(v) ? Number(v) : (Date.parse(v) - Date.now()) / 1000;
    return s > 0 ? Math.min(s, 3600) * 1000 : 0;
  }
  // The form's fields by the name the server gives them (a 422's `loc`, or the start of a 400's detail).
  const FIELDS = { submitter_email: ['email', 'Email'], submitter_name: ['name', 'Name'], body: ['body', 'Comment'],
    kind: ['kind', 'Kind'], screenshot: ['file', 'Screenshot'] };
  async function refusal(res) {
    let detail = null;
    try { detail = (await res.json()).detail; } catch (_) { /* not JSON */ }
    // No detail (a proxy's or a firewall's HTML page, say): "Not sent. HTTP 403" told a visitor nothing.
    let where = null, text = `The server refused it (HTTP ${res.status}).`;
    if (Array.isArray(detail) && detail[0]) {
      const loc = Array.isArray(detail[0].loc) ? detail[0].loc : [];
      where = loc[0] === 'body' && loc.length > 1 ? String(loc[1]) : null; // ['body'] alone is the whole request
      text = String(detail[0].msg || text).replace(/^Value error, /, '');
    } else if (typeof detail === 'string') {
      text = detail;
      where = Object.keys(FIELDS).find(k => detail.startsWith(`${k} `)) || null;
    }
    // The body's cap (the server's, or a proxy's): only a picture makes a submission that big.
    if (res.status === 413 && !where) { where = 'screenshot'; text = 'too large to send: attach a smaller picture, or send without one.'; }
    const f = FIELDS[where];
    return { field: f ? f[0] : null, message: clip(`Not sent. ${f ? `${f[1]}: ` : ''}${text}`, 400) };
  }
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      // Re-read each time: another tab may have sent or added one, and a retry may have changed it.
      const tries = {};
      for (let item = waiting(); item; item = waiting()) {
        // An outbox that cannot be written (storage disabled) must not turn this into a busy loop.
        if ((tries[item.key] = (tries[item.key] || 0) + 1) > 2) return;
        let res = null;
        try {
          res = await nativeFetch(`${API}/annotations`, { method: 'POST', body: json(item.payload),
            headers: headers(Object.assign({ 'Content-Type': 'application/json', 'Idempotency-Key': item.key },
              item.stakeholder ? { 'X-GF-Stakeholder-Token': item.stakeholder } : {})) });
        } catch (_) { /* unreachable: as a 5xx */ }
        if (res && res.status === 409 && await applied(res)) { saveQueue(queue().filter(i => i.key !== item.key)); delivered(item); continue; }
        if (!res || res.status >= 500 || [408, 409, 429].includes(res.status)) {
          const wait = retryAfter(res), why = !res && draft && draft.pending ? await unanswered() : '';
          if (draft && draft.pending) {
            setStatus(wait ? `Saved in this browser: the server is busy, it will be sent in ${Math.ceil(wait / 1000)} s.`
              : why || 'Saved in this browser: it will be sent when the server can be reached.');
          }
          scheduleRetry(wait);
          return;
        }
        if (res.status === 401 && item.stakeholder) {
          // A stakeholder token revoked since: the feedback still goes, as an anonymous visitor's.
          if (!script.dataset.stakeholderToken) forget();
          saveQueue(queue().map(i => (i.key === item.key ? Object.assign({}, i, { stakeholder: null }) : i)));
          continue;
        }
        if (res.ok) { saveQueue(queue().filter(i => i.key !== item.key)); delivered(item); } else {
          const why = await refusal(res);
          saveQueue(queue().map(i => (i.key === item.key ? Object.assign({}, i, { refused: why }) : i)));
        }
      }
      retryDelay = 1000;
    } finally { flushing = false; offerRefused(); }
  }
  // The server's 409 "already applied": a try under this key was stored and its answer lost (the server stopped
  // in between), and every later try is answered so. It is delivered; waited on as a busy server, it was tried for ever.
  // Told by the field, not the words: the other 409, "still being processed", is worth the same request later.
  async function applied(res) {
    try { return (await res.clone().json()).idempotency === 'applied'; } catch (_) { return false; }
  }
  window.addEventListener('online', flush);
  // A fetch that throws says the same for "offline" and "refused by this page's CSP or the site's origins": the
  // policy reports itself, and the server says whether it allows this page's origin (…/origin, readable by any page).
  let policyBlocks = false;
  document.addEventListener('securitypolicyviolation', (e) => { if (String(e.blockedURI).startsWith(BASE)) policyBlocks = true; });
  async function unanswered() {
    const kept = 'Saved in this browser, not sent:';
    if (policyBlocks) return `${kept} this page's Content-Security-Policy does not allow the feedback server (${BASE}). The site's owner can allow it.`;
    try {
      const r = await nativeFetch(`${API}/origin`);
      // Allowed, or not known (a 429: the check is rate-limited too): the failure was on the way (offline, a proxy).
      if (!r.ok || (await r.json()).allowed !== false) return '';
    } catch (_) { return ''; }
    return `${kept} the feedback server does not take feedback from ${location.origin} yet. It is sent once the site's owner allows this address.`;
  }

  // -- the user interface, in an open shadow root ------------------------------------------------------
  const host = document.createElement('div');
  host.setAttribute('data-gf-widget', '');
  // In the top layer (a manual popover) where the browser has one: above any z-index the page adds later,
  // and fixed to the viewport whatever transform, filter or contain the page puts on its elements. It is
  // added to <html>, not <body>, for the same reason where there is no top layer.
  const topLayer = typeof host.showPopover === 'function';
  if (topLayer) host.setAttribute('popover', 'manual');
  // Each !important: a page's `* { direction: rtl !important }` (or letter-spacing, text-transform, display: none)
  // beat plain inline values and reached the whole widget by inheritance; only an inline !important beats it.
  // ('all' leaves direction out, so it is set too.) Light: a page declaring itself dark (color-scheme) gave the white
  // form the browser's dark controls (a dark grey "Choose File", dark drop-down lists and scroll bars).
  host.style.cssText = ['all: initial', 'direction: ltr', 'color-scheme: light', 'position: fixed', 'top: 0', 'left: 0', 'width: 0', 'height: 0',
    'overflow: visible', 'z-index: 2147483647'].map(d => `${d} !important;`).join(' ');
  const root = host.attachShadow({ mode: 'open' });
  // What the visitor does in the widget is not the page's: its listeners heard it as the host's (the shadow root
  // retargets), so a page's "/" shortcut, which skips its fields by the event's target, took the focus to its search
  // halfway through a comment, its focus trap (a cookie notice's) pulled the focus back out of the form, and every
  // click in the widget was one on the page. Stopped at the host: the widget's own listeners are inside it, or on the
  // window's capture (the picker's), which comes first.
  for (const type of ['keydown', 'keyup', 'keypress', 'beforeinput', 'input', 'paste', 'copy', 'cut', 'click', 'dblclick',
    'auxclick', 'contextmenu', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'touchstart', 'touchmove', 'touchend',
    'wheel', 'focusin', 'focusout']) host.addEventListener(type, e => e.stopPropagation());
  // Adopted, not a <style>: a page's CSP without style-src 'unsafe-inline' blocks the element, not CSSOM.
  const css = `
    :host { all: initial; direction: ltr; } /* 'all' leaves direction to inherit: an RTL page turned the English UI round */
    [hidden] { display: none !important; }
    * { box-sizing: border-box; font: 14px/1.4 system-ui, sans-serif; }
    button { cursor: pointer; border-radius: 6px; border: 1px solid #cbd5e1; background: #fff; color: #0f172a; padding: 6px 12px; }
    button:disabled { opacity: .6; cursor: default; }
    button.primary { background: #4f46e5; border-color: #4f46e5; color: #fff; }
    .launcher { position: fixed; right: 20px; bottom: 20px; padding: 10px 16px; border-radius: 999px; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .launcher.kept::after { content: ''; display: inline-block; width: 8px; height: 8px; margin-left: 6px; border-radius: 50%; background: #e11d48; vertical-align: middle; }
    .catcher { position: fixed; inset: 0; display: none; cursor: crosshair; }
    .outline { position: fixed; pointer-events: none; border: 2px solid #e11d48; background: rgba(225,29,72,.08); border-radius: 3px; display: none; }
    /* What the keyboard has outlined, named on the outline: above it, or inside its top where the viewport ends above. */
    .outline .name { display: none; position: absolute; left: -2px; bottom: 100%; margin-bottom: 2px; max-width: min(360px, 90vw); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; background: #e11d48; color: #fff; font-size: 12px; padding: 1px 6px; border-radius: 3px; }
    .outline.named .name { display: block; }
    .outline.low .name { bottom: auto; top: 0; margin: 0; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    .bar { position: fixed; top: 12px; left: 50%; transform: translateX(-50%); width: max-content; max-width: calc(100vw - 24px); background: #0f172a; color: #fff; padding: 8px 12px; border-radius: 8px; display: none; gap: 8px; align-items: center; box-shadow: 0 4px 14px rgba(0,0,0,.3); }
    .bar { pointer-events: none; } /* but its buttons: what it covers at the top of the page stays pickable */
    .bar span { color: #fff; }
    .bar button { pointer-events: auto; }
    .bar button { white-space: nowrap; }
    .bar .short { display: none; }
    .panel { position: fixed; right: 20px; bottom: 76px; width: 340px; max-width: calc(100vw - 40px); max-height: calc(100vh - 100px); overflow: auto; background: #fff; color: #0f172a; border: 1px solid #cbd5e1; border-radius: 10px; padding: 14px 14px 0; box-shadow: 0 10px 30px rgba(0,0,0,.25); display: none; }
    fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
    h2 { font-size: 16px; font-weight: 600; margin: 0 0 8px; }
    label { display: block; margin: 8px 0 2px; font-size: 12px; color: #334155; }
    label.check { display: flex; gap: 6px; align-items: center; font-size: 14px; color: #0f172a; }
    input[type=text], input[type=email], textarea, select { width: 100%; padding: 6px; border: 1px solid #cbd5e1; border-radius: 6px; background: #fff; color: #0f172a; }
    [aria-invalid=true] { border-color: #dc2626 !important; box-shadow: 0 0 0 2px #fecaca; }
    textarea { min-height: 80px; resize: vertical; }
    .about, .who { font-size: 12px; color: #475569; overflow-wrap: anywhere; }
    .who { margin: 0 0 6px; }
    .about bdi, .who bdi { font: inherit; } /* the page's words and a name, in the line's own size (the rule above sets every element's) */
    .shot img { display: block; max-width: 100%; max-height: 140px; object-fit: contain; border: 1px solid #e2e8f0; border-radius: 4px; margin-top: 6px; }
    .foot { position: sticky; bottom: 0; background: #fff; padding: 8px 0 14px; }
    .row { display: flex; gap: 8px; justify-content: flex-end; }
    .status { margin-top: 6px; font-size: 12px; color: #0f766e; }
    .alert:empty { display: none; } /* an alert is read as it is shown */
    .status:empty { margin: 0; } /* not display: none: a status (a live region) is only read out if it was there before its words */
    .alert { margin-bottom: 8px; padding: 6px 8px; font-size: 12px; color: #991b1b; background: #fef2f2; border: 1px solid #fca5a5; border-left: 4px solid #dc2626; border-radius: 6px; }
    .pin { position: fixed; width: 26px; height: 26px; padding: 0; border-radius: 50%; background: #e11d48; color: #fff; border: 2px solid #fff; font-weight: 700; box-shadow: 0 2px 6px rgba(0,0,0,.3); }
    .card { position: fixed; width: 320px; max-width: calc(100vw - 20px); max-height: calc(100vh - 20px); overflow: auto; background: #fff; color: #0f172a; border: 1px solid #cbd5e1; border-radius: 8px; padding: 0 10px 10px; box-shadow: 0 8px 24px rgba(0,0,0,.25); display: none; }
    .card .head { position: sticky; top: 0; display: flex; gap: 8px; align-items: flex-start; justify-content: space-between; background: #fff; padding-top: 10px; }
    .card p { margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; unicode-bidi: plaintext; }
    .card .who { font-weight: 600; }
    .card .st { font-size: 12px; color: #475569; }
    @media (max-width: 600px) {
      .bar { top: 0; left: 0; transform: none; width: 100%; max-width: none; border-radius: 0; padding: 6px 8px; }
      .bar span, .bar button { font-size: 13px; }
      .bar button { padding: 4px 8px; }
      .panel { left: 8px; right: 8px; bottom: 8px; width: auto; max-width: none; max-height: calc(100dvh - 16px); }
    }
    @media (max-width: 600px), (hover: none) { .bar .long { display: none; } .bar .short { display: inline; } }
    /* The indigo ring on a white one (the gap under the outline's offset), last so it wins over a control's own shadow:
       indigo alone was 2.8:1 on a dark page (and the launcher and pins sit on the page), white alone nothing on a light one. */
    :focus-visible { outline: 2px solid #4f46e5; outline-offset: 2px; box-shadow: 0 0 0 3px #fff; }
  `;
  let adopted = false;
  try { const sheet = new CSSStyleSheet(); sheet.replaceSync(css); root.adoptedStyleSheets = [sheet]; adopted = true; } catch (_) { /* an older browser: a <style> */ }
  root.innerHTML = W.tt ? W.tt.createHTML(markup()) : markup();
  function markup() {
    return `${adopted ? '' : `<style>${css}</style>`}
  <div class="pins"></div>
  <div class="card" role="dialog" aria-modal="true" aria-label="Your feedback" tabindex="-1"></div>
  <div class="catcher"></div>
  <div class="outline"><span class="name"></span></div>
  <div class="bar" role="toolbar" aria-label="Pick an element" aria-describedby="gf-how"><span id="gf-how"><span class="long">Click the element your feedback is about, or Tab and arrow keys to it, then Enter. Esc cancels.</span><span class="short">Tap an element.</span></span>
    <button type="button" data-act="whole" tabindex="0">Whole page</button><button type="button" data-act="cancel" tabindex="-1">Cancel</button><span class="sr" role="status"></span></div>
  <button class="launcher" type="button" aria-expanded="false">Feedback</button><span id="gf-kept" hidden>Unsent words are kept for this page</span>
  <form class="panel" role="dialog" aria-modal="true" aria-label="Send feedback" aria-describedby="gf-about gf-who" novalidate>
    <h2>Send feedback</h2>
    <fieldset>
    <div class="about" id="gf-about"></div>
    <div class="shot"><span class="shot-note" aria-live="polite"></span><img alt="Screenshot" hidden>
      <label>Attach or paste a screenshot<input type="file" accept="image/png,image/jpeg,image/webp,image/gif" data-f="file"></label></div>
    <label>Kind<select data-f="kind">${KINDS.map(k => `<option value="${k}">${k}</option>`).join('')}</select></label>
    <label>Comment<textarea data-f="body" maxlength="20000" required dir="auto"></textarea></label>
    <label>Name (optional)<input type="text" data-f="name" maxlength="100" autocomplete="name" dir="auto"></label>
    <label>Email (optional)<input type="email" data-f="email" maxlength="320" autocomplete="email"></label>
    <label class="check" hidden><input type="checkbox" data-f="autofix">Auto-fix</label>
    </fieldset>
    <div class="foot"><div class="alert" id="gf-alert" role="alert"></div><p class="who" id="gf-who"></p>
      <div class="row"><button type="button" data-act="close">Cancel</button><button type="submit" class="primary">Send</button></div>
      <div class="status" role="status"></div></div>
  </form>`;
  }
  const $ = s => root.querySelector(s);
  const launcher = $('.launcher'), catcher = $('.catcher'), outline = $('.outline'), bar = $('.bar'), panel = $('.panel');
  const card = $('.card'), alertEl = $('.alert'), statusEl = $('.status');
  const field = n => root.querySelector(`[data-f="${n}"]`);
  function setStatus(text) { statusEl.textContent = text; }
  // One error at a time, in the alert, on the field it is about (which gets the focus), else on the comment.
  // The field is described by it: once the alert has been read, a screen reader back on the field said only "invalid".
  function showError(name, text) {
    for (const n of panel.querySelectorAll('[aria-invalid]')) { n.removeAttribute('aria-invalid'); n.removeAttribute('aria-describedby'); }
    alertEl.textContent = text || '';
    if (!text) return;
    const f = field(name || 'body');
    if (name) { f.setAttribute('aria-invalid', 'true'); f.setAttribute('aria-describedby', 'gf-alert'); }
    f.focus();
  }
  panel.addEventListener('input', (e) => { e.target.removeAttribute('aria-invalid'); e.target.removeAttribute('aria-describedby'); });
  const focusIn = box => box.contains(root.activeElement);
  // Tab and shift+Tab go round the open dialog's own controls; Esc closes it. So each says it is modal (aria-modal):
  // a screen reader otherwise offered the page behind as reachable, which Tab never reached.
  function dialogKeys(box, close) {
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(); return; }
      if (e.key !== 'Tab') return;
      const all = [...box.querySelectorAll('button, input, select, textarea')].filter(n => !n.matches(':disabled') && n.getClientRects().length);
      const at = all.indexOf(root.activeElement);
      if (!all.length) return;
      if (e.shiftKey && at <= 0) { e.preventDefault(); all[all.length - 1].focus(); } else if (!e.shiftKey && at === all.length - 1) { e.preventDefault(); all[0].focus(); }
    });
  }

  // -- picking: a transparent catcher over the page takes the pointer, so nothing reaches the page, iframes included --
  let picking = false;
  // The highlighted element: the one under the pointer, the page's element the keyboard is on, or where the arrow
  // keys moved from it. Enter picks it.
  let candidate = null;
  const onPage = el => (el && el !== host && el !== document.documentElement && el !== document.body ? el : null);
  // The page's element under the catcher (elementsFromPoint lists the host first, then the page's topmost).
  const under = (x, y) => onPage(document.elementsFromPoint(x, y).find(n => n !== host));
  const outlineName = $('.outline .name'), say = $('.bar [role="status"]');
  // What the keyboard's outline and a screen reader say about an element: its tag and the start of its text (no field's value).
  function describe(el) {
    const text = squash(el.innerText || el.getAttribute('aria-label') || el.getAttribute('alt') || el.getAttribute('title') || '').trim();
    return text ? `${el.localName} “${bounded(text, 60)}”` : el.localName;
  }
  function outlineOn(el) {
    if (!el) { outline.style.display = 'none'; return; }
    const r = el.getBoundingClientRect();
    outline.classList.toggle('low', r.top < 24);
    Object.assign(outline.style, { display: 'block', left: `${r.left}px`, top: `${r.top}px`, width: `${r.width}px`, height: `${r.height}px` });
  }
  // From the keyboard the outline is named and the name is said; the pointer's outline stays as it was, unnamed and silent.
  function highlight(el, keyboard) {
    candidate = el;
    outline.classList.toggle('named', !!(el && keyboard));
    outlineOn(el);
    if (el && keyboard) outlineName.textContent = say.textContent = describe(el);
  }
  function pick(el) { stopPicking(); openForm(el); }
  let pointer = '';
  catcher.addEventListener('mousemove', (e) => {
    // A move to where the pointer already was is the browser's own after a scroll (the keyboard's walk scrolls): it
    // leaves the keyboard's outline alone. The pointer really moving takes the outline back.
    const at = `${e.clientX},${e.clientY}`;
    if (at === pointer && outline.classList.contains('named')) return;
    pointer = at;
    highlight(under(e.clientX, e.clientY), false);
  });
  catcher.addEventListener('click', (e) => { e.preventDefault(); pick(under(e.clientX, e.clientY)); });
  // The outline stays on its element while the page scrolls (a walk scrolls it into view; a panel may scroll too).
  let followRaf = 0;
  const follow = () => { if (!followRaf) followRaf = requestAnimationFrame(() => { followRaf = 0; if (picking && candidate) outlineOn(candidate); }); };
  // The keyboard's way (README "Picker"): Tab to an element of the page, which is outlined; the arrow keys move the
  // outline from there through the page's drawn elements (Up: the element around it, Down: its first child,
  // Left/Right: the one before or after it), and Enter or Space picks the outlined one. Focus stays where Tab put it,
  // so the next Tab goes on from there. With nothing of the page focused, the arrows start at the body's first element.
  const shown = (el) => {
    if (!el || el === host || !el.getClientRects().length) return false;
    try { return typeof el.checkVisibility !== 'function' || el.checkVisibility({ visibilityProperty: true }); } catch (_) { return true; }
  };
  const nextShown = (el, step) => { let n = el; while (n && !shown(n)) n = n[step]; return n; };
  const WALK = {
    ArrowUp: el => { let p = el.parentElement; while (p && !shown(p)) p = p.parentElement; return onPage(p); },
    ArrowDown: el => nextShown(el.firstElementChild, 'nextElementSibling'),
    ArrowLeft: el => nextShown(el.previousElementSibling, 'previousElementSibling'),
    ArrowRight: el => nextShown(el.nextElementSibling, 'nextElementSibling'),
  };
  // A page that re-rendered may have dropped the outlined element: then the focused one.
  const outlined = () => (candidate && candidate.isConnected ? candidate : onPage(document.activeElement));
  const EDGE = { ArrowUp: 'around it', ArrowDown: 'inside it', ArrowLeft: 'before it', ArrowRight: 'after it' };
  function onKey(e) {
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); stopPicking(); launcher.focus(); offerRefused(); return; }
    if (e.composedPath().includes(host) || e.altKey || e.ctrlKey || e.metaKey) return; // the widget's own controls keep their keys
    if (WALK[e.key]) {
      e.preventDefault(); e.stopPropagation(); // the page neither scrolls nor handles the key
      const from = outlined();
      const to = from ? WALK[e.key](from) : nextShown(document.body.firstElementChild, 'nextElementSibling');
      if (to) { to.scrollIntoView({ block: 'nearest', inline: 'nearest' }); highlight(to, true); } else if (from) say.textContent = `${describe(from)}: nothing ${EDGE[e.key]}`;
      return;
    }
    const el = outlined();
    if ((e.key !== 'Enter' && e.key !== ' ') || !el) return;
    e.preventDefault(); e.stopPropagation(); // the focused element is not activated
    pick(el);
  }
  const onFocus = e => highlight(onPage(e.target), true);
  // The toolbar's buttons are one Tab stop (a roving tabindex, as the WAI-ARIA toolbar pattern has it): Left and Right
  // go round them, Home and End to the first and last; Tab leaves the toolbar.
  const tools = [...bar.querySelectorAll('button')];
  function rove(to, focus) {
    for (const b of tools) b.tabIndex = b === to ? 0 : -1;
    if (focus) to.focus();
  }
  bar.addEventListener('focusin', e => rove(e.target, false));
  bar.addEventListener('keydown', (e) => {
    const at = tools.indexOf(root.activeElement);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tools.length - 1 }[e.key];
    if (at < 0 || to === undefined) return;
    e.preventDefault(); e.stopPropagation(); // nor are they the page's shortcuts
    rove(tools[(to + tools.length) % tools.length], true);
  });
  function startPicking() {
    if (picking) return;
    picking = true;
    panel.style.display = 'none';
    catcher.style.display = 'block';
    bar.style.display = 'flex';
    rove(tools[0], false);
    say.textContent = '';
    window.addEventListener('keydown', onKey, true);
    window.addEventListener('focusin', onFocus, true);
    window.addEventListener('scroll', follow, { capture: true, passive: true });
    opened();
  }
  function stopPicking() {
    picking = false;
    highlight(null, false);
    catcher.style.display = 'none';
    bar.style.display = 'none';
    window.removeEventListener('keydown', onKey, true);
    window.removeEventListener('focusin', onFocus, true);
    window.removeEventListener('scroll', follow, { capture: true });
    opened();
  }
  // The launcher opens the picker or the form and, pressed again, closes them: a screen reader hears which (its name
  // stays "Feedback", the name the site's visitors are told to look for).
  const opened = () => launcher.setAttribute('aria-expanded', String(picking || panel.style.display === 'block'));
  // The launcher: picking, or back to the words the visitor closed with Esc (Cancel in the form drops them).
  launcher.addEventListener('click', (e) => {
    if (picking) { stopPicking(); offerRefused(); } else if (panel.style.display === 'block') closePanel();
    else if (draft) showPanel(); else {
      startPicking();
      // From the keyboard (detail 0) the focus goes into the toolbar, whose name and how-to a screen reader
      // then reads: left on the launcher, nothing said picking had begun.
      if (e.detail === 0) tools[0].focus();
    }
  });
  // Framed by the review page, reviewers pin comments with its own tools: the visitor UI would only be in the way.
  onReviewPage = () => { if (picking) stopPicking(); host.style.setProperty('display', 'none', 'important'); };
  bar.addEventListener('click', (e) => {
    const act = e.target.closest('[data-act]') && e.target.closest('[data-act]').dataset.act;
    if (act === 'whole') pick(null); else if (act === 'cancel') { stopPicking(); launcher.focus(); offerRefused(); }
  });

  // -- the form --------------------------------------------------------------------------------------
  // draft: what the form is about. {anchor, styles, viewport, shot: Promise<string|null>, shotView, manual,
  // pending: the outbox key once sent, refused: the outbox item the server refused, back for correcting}.
  let draft = null;
  let config = null;
  // Who the server is told sends the feedback, as far as this browser knows: {token, known: the server answered
  // for that token, revoked: it refused it}. Until it answers, a stakeholder link is only a link.
  let sender = { token: null, known: false, revoked: false };
  async function loadConfig() {
    const sh = stakeholderToken();
    sender = { token: sh || null, known: false, revoked: false };
    showWho();
    try {
      const r = await nativeFetch(`${API}/config`, { headers: headers(sh ? { 'X-GF-Stakeholder-Token': sh } : {}) });
      if (r.status === 401 && sh && !script.dataset.stakeholderToken) { forget(); return loadConfig(); }
      config = r.ok ? await r.json() : null;
      if (stakeholderToken() === sh) sender = { token: sh || null, known: r.ok, revoked: r.status === 401 && !!sh };
    } catch (_) { config = null; } // offline: no toggle; the server applies the stakeholder's default
    const t = config && config.auto_fix;
    const box = field('autofix');
    box.closest('label').hidden = !(t && t.visible);
    box.checked = !!(t && t.visible && t.checked);
    showWho();
  }
  // "Sending as Dana" (README "Form"): a stakeholder's name as the site gave it, or an honest word for everyone else.
  // The server takes a stakeholder's stored name over the Name field, which is then not offered.
  const isolated = (text) => { const b = document.createElement('bdi'); b.textContent = text; return b; };
  function showWho() {
    const line = $('.who'), d = draft;
    // A refused submission goes again with the token it was sent with.
    const token = d && d.refused ? d.refused.stakeholder || null : sender.token;
    const who = token && token === sender.token && sender.known && config && config.stakeholder;
    const named = who && said(who.name || '');
    field('name').closest('label').hidden = !!named;
    field('email').closest('label').hidden = !!(who && who.has_email); // as the name: the stored one goes
    const typed = said(field('name').value);
    if (named) line.replaceChildren('Sending as ', isolated(bounded(named, NAME_CHARS)), '.');
    else if (who) line.replaceChildren(typed ? 'Sending as ' : 'Sending as a stakeholder of this site', ...(typed ? [isolated(bounded(typed, NAME_CHARS)), ', a stakeholder of this site.'] : ['.']));
    else if (token && !sender.revoked && !(token === sender.token && sender.known)) line.textContent = 'Sending with your stakeholder link (the server has not confirmed it yet).';
    else {
      const why = token && sender.revoked ? 'this page\'s stakeholder link is no longer valid'
        : !token && forgotten ? 'your stakeholder link is no longer valid' : 'the site does not know who you are';
      if (typed) line.replaceChildren('Sending as ', isolated(bounded(typed, NAME_CHARS)), `, the name you typed: ${why}.`);
      else line.textContent = `Sending anonymously: ${why}. A name below is optional.`;
    }
  }
  field('name').addEventListener('input', showWho);
  function showShot(url, note) {
    const img = root.querySelector('.shot img');
    img.hidden = !url;
    if (url) img.src = url;
    root.querySelector('.shot-note').textContent = note;
  }
  // While a submission is on its way the form is read-only: one press, one submission.
  function busy(on) {
    if (on && focusIn(panel)) $('[data-act="close"]').focus(); // a control being disabled would drop the focus
    $('fieldset').disabled = on;
    $('.primary').disabled = on;
    $('[data-act="close"]').textContent = on ? 'Close' : 'Cancel';
  }
  function showPanel() {
    panel.style.display = 'block';
    markKept();
    opened();
    if (!focusIn(panel)) (draft && draft.pending ? $('[data-act="close"]') : field('body')).focus();
  }
  // Esc: unsent words are kept (the launcher brings them back); what was sent is in the outbox anyway.
  function closePanel() {
    if (draft && (draft.pending || !(field('body').value.trim() || draft.refused))) draft = null;
    const had = focusIn(panel);
    panel.style.display = 'none';
    markKept();
    opened();
    if (had) launcher.focus();
    offerRefused();
  }
  function discard() {
    if (draft && draft.refused && !draft.pending) saveQueue(queue().filter(i => i.key !== draft.refused.key));
    else if (draft && !draft.pending) keepWords(true);
    draft = null;
    closePanel();
  }
  // "About: button “Add to cart”": the page's words as text, isolated in their own direction (<bdi>).
  function showAbout(what, where) {
    const line = root.querySelector('.about'), role = String(what ? what.role || '' : ''), name = String(what ? what.name || '' : '');
    line.textContent = 'About: ';
    if (!what) line.append('the whole page');
    else line.append(role, ...(name ? [role ? ' “' : '“', isolated(name), '”'] : []));
    if (where) line.append(` on ${where}`);
  }
  function fillForm(d, where, values) {
    draft = d;
    showAbout(d.about, where);
    for (const n of ['kind', 'body', 'name', 'email']) field(n).value = values[n] || '';
    if (!field('kind').value) field('kind').value = KINDS[0];
    field('file').value = '';
    busy(false);
    showError(null);
    setStatus('');
    loadConfig();
    showPanel();
  }
  function openForm(el) {
    const anchor = anchorOf(el);
    // The page it is about, taken now: on a single-page app the address may change while the form is open.
    const d = { anchor, about: el ? whatItIs(el) : null, styles: stylesOf(el), manual: null, shot: null, shotView: {}, pending: null, refused: null, url: location.href, page: page(),
      viewport: { width: innerWidth, height: innerHeight, device_pixel_ratio: devicePixelRatio } };
    showShot(null, 'Capturing a screenshot…');
    d.shot = screenshot(el, d.shotView).then((url) => { if (draft === d && !d.manual) showShot(url, ''); return url; }, () => {
      if (draft === d && !d.manual) showShot(null, 'The screenshot could not be taken: attach or paste one (optional).');
      return null;
    });
    const kept = (store.get('words') || {})[d.page] || {};
    fillForm(d, '', { name: store.get('name'), email: store.get('email'), kind: kept.kind, body: kept.body });
  }
  // Unsent words outlive a reload or a visit elsewhere: kept per page (its hash aside) until sent, cancelled or
  // emptied, for the last 20 pages. A refused submission's words live in the outbox, so they are not kept here.
  // Read when used, not at load: a single-page app changes its address without loading a page.
  const page = () => location.origin + location.pathname + location.search;
  function keepWords(drop) {
    if (!draft || draft.refused) return;
    const all = store.get('words') || {}, body = field('body').value;
    delete all[draft.page]; // and added again last: the oldest pages go first
    if (!drop && !draft.pending && body.trim()) all[draft.page] = { kind: field('kind').value, body: clip(body, 20000) };
    const pages = Object.keys(all);
    for (const p of pages.slice(0, -20)) delete all[p];
    if (pages.length) store.set('words', all); else store.del('words');
  }
  panel.addEventListener('input', () => keepWords(false));
  // Words waiting on the launcher (closed with Esc, or kept from an earlier visit, which only the form showed): a mark,
  // and a description for those who cannot see it; the name stays "Feedback".
  function markKept() {
    const on = panel.style.display !== 'block' && !!((draft && draft.page === page()) || (store.get('words') || {})[page()]);
    launcher.classList.toggle('kept', on);
    if (on) launcher.setAttribute('aria-describedby', 'gf-kept'); else launcher.removeAttribute('aria-describedby');
  }
  // A refused submission, this visit's or an earlier one's, comes back into the form once it is free.
  function offerRefused() {
    const item = queue().find(i => i.refused);
    if (!item || picking || (draft && draft.pending !== item.key)) return;
    const p = item.payload, why = item.refused, anchor = (p.capture && p.capture.anchor) || { whole_page: true };
    const shot = why.field === 'file' ? null : p.screenshot;
    const about = item.about !== undefined ? item.about : anchor.whole_page ? null : whatItWas(anchor); // kept since, or an older outbox's
    const d = { anchor, about, styles: p.computed_styles, manual: null, shot: Promise.resolve(shot), shotView: {}, pending: null, refused: item,
      viewport: (p.capture && p.capture.viewport) || null };
    showShot(shot, why.field === 'file' ? 'Attach another picture, or send without one.' : '');
    fillForm(d, samePage(p.page_url) ? '' : p.page_url,
      { kind: p.kind, body: p.body, name: p.submitter_name, email: p.submitter_email });
    showError(why.field, why.message);
  }
  function delivered(item) {
    // Remembered only once the server has taken them: a refused email is never offered again.
    store.set('name', item.payload.submitter_name || ''); store.set('email', item.payload.submitter_email || '');
    sent(item.key);
  }
  function sent(key) {
    if (draft && draft.pending === key) {
      setStatus('Sent. Thank you!');
      const d = draft;
      setTimeout(() => { if (draft === d) closePanel(); }, 1500);
    }
    refreshMine();
  }
  // Every tab of the site sends the one outbox: a submission this tab could not send, another tab delivered, and this
  // form still said "Saved in this browser" for as long as it stayed open. (One refused there, this tab's next retry
  // finds marked so and shows.)
  window.addEventListener('storage', (e) => {
    if (e.key === `${NS}outbox` && draft && typeof draft.pending === 'string' && !queue().some(i => i.key === draft.pending)) sent(draft.pending);
  });
  // The server takes these, told by their first bytes (workbench/domain/images.py), whatever the file's name says.
  function pictureType(b) {
    const at = (sig, from = 0) => sig.every((c, i) => b[from + i] === c), ascii = t => [...t].map(c => c.charCodeAt(0));
    if (at([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
    if (at([0xff, 0xd8, 0xff])) return 'image/jpeg';
    if (at(ascii('GIF87a')) || at(ascii('GIF89a'))) return 'image/gif';
    if (at(ascii('RIFF')) && at(ascii('WEBP'), 8)) return 'image/webp';
    return null;
  }
  const NOT_A_PICTURE = 'That file is not a PNG, JPEG, WebP or GIF picture: attach another, or send without one.';
  async function useImage(file) {
    if (!file || !draft || draft.pending) return;
    const d = draft;
    const refuse = (text) => { field('file').value = ''; d.fileRefused = text; showError('file', text); };
    // The server's cap: said now, not after the upload.
    if (file.size > 10 * 1024 * 1024) { refuse('That picture is over 10 MB: attach a smaller one, or send without one.'); return; }
    // Its type from its bytes, as the server checks it: a text file or a PDF was shown as "Attached." (a broken image)
    // and refused only at Send, in the server's words; a GIF or WebP was dropped without a word; and a JPEG named
    // .png was declared a PNG, which the server refused.
    let type = null;
    try { type = pictureType(new Uint8Array(await file.slice(0, 12).arrayBuffer())); } catch (_) { /* unreadable: not a picture */ }
    if (draft !== d) return;
    if (!type) { refuse(NOT_A_PICTURE); return; }
    const reader = new FileReader();
    reader.onload = () => {
      if (draft !== d) return;
      d.manual = reader.result;
      showShot(reader.result, 'Attached.');
      if (d.fileRefused && alertEl.textContent === d.fileRefused) showError(null); // mended by this one
    };
    reader.readAsDataURL(file.slice(0, file.size, type));
  }
  field('file').addEventListener('change', e => useImage(e.target.files && e.target.files[0]));
  panel.addEventListener('paste', (e) => {
    const item = [...((e.clipboardData && e.clipboardData.items) || [])].find(i => i.type.startsWith('image/'));
    if (item) { e.preventDefault(); useImage(item.getAsFile()); }
  });
  panel.addEventListener('click', (e) => { if (e.target.closest('[data-act="close"]')) discard(); });
  dialogKeys(panel, closePanel);
  panel.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = draft;
    if (!d || d.pending) return;
    const body = field('body').value.trim();
    if (!body) { showError('body', 'Write a comment first.'); return; }
    // The browser's own check of type=email: the usual typo never reaches the server.
    if (!field('email').checkValidity()) { showError('email', 'Check the email address: it should look like name@example.com.'); return; }
    showError(null);
    d.pending = true;
    busy(true);
    const name = field('name').value.trim(), email = field('email').value.trim();
    setStatus('Sending…');
    // A capture still running gets a little longer; after that the feedback goes without it.
    const shot = d.manual || await within(d.shot, 3000).catch(() => null);
    const toggle = config && config.auto_fix;
    const fields = { kind: field('kind').value, body, submitter_name: name || null, submitter_email: email || null, screenshot: shot || null };
    const payload = d.refused ? Object.assign({}, d.refused.payload, fields) : Object.assign({
      page_url: clip(d.url, 2000), selector: d.anchor.css || null, computed_styles: d.styles, submitter_key: submitterKey(),
      // The scroll only with the widget's own picture: an attached one may show anything.
      capture: { anchor: d.anchor, viewport: Object.assign({}, d.viewport, shot && !d.manual ? d.shotView : {}),
        user_agent: clip(navigator.userAgent, 512), console: consoleRing.slice(), network: networkRing.slice() },
    }, fields);
    if (d.refused && shot !== d.refused.payload.screenshot && payload.capture && payload.capture.viewport) {
      // Another picture than the one the scroll was stored with: the scroll goes (see the comment above).
      const viewport = Object.assign({}, payload.capture.viewport);
      delete viewport.scroll_x; delete viewport.scroll_y;
      payload.capture = Object.assign({}, payload.capture, { viewport });
    }
    if (toggle && toggle.visible) payload.auto_fix = field('autofix').checked;
    // The key is chosen now, once: every retry of this submission carries it, so the server keeps one. A
    // corrected submission is a new one (the refused one was never stored), so it gets a new key.
    const item = { key: randomKey(), payload, about: d.about, stakeholder: d.refused ? d.refused.stakeholder : stakeholderToken() || null, at: Date.now() };
    d.pending = item.key;
    keepWords(true);
    saveQueue([...queue().filter(i => !d.refused || i.key !== d.refused.key), item]);
    d.refused = null;
    flush();
  });

  // -- revisit: this browser's own feedback, as pins -----------------------------------------------------
  let mine = [], everyPage = []; // this page's, and this browser's on every page of the site
  // A status as a visitor reads it: the API's names are the team's ("won_t_fix" came out as "won t fix").
  const STATUS_WORDS = { ack: 'acknowledged', in_progress: 'in progress', won_t_fix: "won't fix" };
  const statusWords = s => STATUS_WORDS[s] || String(s).replace(/_/g, ' ');
  function samePage(u) { try { const a = new URL(u); return a.origin === location.origin && a.pathname === location.pathname; } catch (_) { return false; } }
  async function refreshMine() {
    const key = store.get('key');
    if (!key) return;
    try {
      const r = await nativeFetch(`${API}/mine`, { headers: headers({ 'X-GF-Submitter-Key': key }) });
      if (!r.ok) return;
      everyPage = (await r.json()).items.reverse();
      drawPins();
    } catch (_) { /* offline: pins come with the next load */ }
  }
  function drawPins() {
    mine = everyPage.filter(a => samePage(a.page_url));
    if (cardPin) closeCard(); // its pin is about to go
    const layer = $('.pins');
    layer.textContent = '';
    mine.forEach((a, i) => {
      const pin = document.createElement('button');
      pin.type = 'button'; pin.className = 'pin'; pin.textContent = String(i + 1);
      pin.setAttribute('aria-label', `Your feedback ${i + 1}: ${statusWords(a.status)}`);
      pin._gf = a;
      pin.addEventListener('click', () => (cardPin === pin ? closeCard() : showCard(a, pin)));
      layer.appendChild(pin);
    });
    followLayout(mine.length > 0);
    placePins();
  }
  // Pins follow their elements when the page changes under them with no scroll or resize: content loaded late, a
  // banner inserted above, a single-page app's new route rendered after its address changed (drawn before it, the
  // pins stayed at the stored boxes). Observed only while this page has pins; placing them is one frame's work.
  let watching = null, retry = 0;
  function followLayout(on) {
    if (on && !watching && typeof MutationObserver === 'function') {
      watching = [new MutationObserver(onScroll)];
      watching[0].observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['class', 'style', 'hidden', 'open'] });
      if (typeof ResizeObserver === 'function') { watching.push(new ResizeObserver(onScroll)); watching[1].observe(document.documentElement); }
    } else if (!on && watching) {
      for (const w of watching) w.disconnect();
      watching = null;
    }
  }
  function placePins() {
    const width = document.documentElement.clientWidth; // without the scroll bar, unlike innerWidth
    const height = document.documentElement.clientHeight;
    const beside = launcher.getBoundingClientRect();
    let pagePins = 0;
    const placed = []; // where the pins before this one went
    for (const pin of root.querySelectorAll('.pin')) {
      const a = pin._gf;
      // By its selector each time (cheap); by its text, a walk of the whole page, at most once a second now that
      // the page's changes place pins, the element found kept while it stays on the page, and tried again a second
      // after the last try at the latest (a route rendered just after one does not leave the pin at its old place).
      let el = byPath(a.anchor);
      if (!el && a.anchor && !a.anchor.whole_page && a.anchor.text_quote) {
        const since = performance.now() - (pin._tried || -Infinity);
        if (pin._el && pin._el.isConnected) el = pin._el;
        else if (since < 1000) { if (!retry) retry = setTimeout(() => { retry = 0; onScroll(); }, 1000 - since); }
        else { el = pin._el = byText(a.anchor); pin._tried = performance.now(); }
      }
      if (el && !el.getClientRects().length) el = null; // not drawn now (a closed menu): where it was, not the page's corner
      const box = el ? el.getBoundingClientRect() : a.anchor && a.anchor.box
        ? { left: a.anchor.box.x - scrollX, top: a.anchor.box.y - scrollY, width: a.anchor.box.width, height: a.anchor.box.height } : null;
      // Scrolled out of view, the element takes its pin along: clamped, every such pin would pile up on the
      // page's top edge (its sticky header) and cover what is there.
      pin.hidden = !!box && (box.top + box.height < 0 || box.top > height);
      // A whole page's pins line up beside the launcher (the page's top-left corner is usually its logo), in rows
      // above it once a row is full: at phone width the ninth and later piled up on the left edge, the last on top.
      const perRow = Math.max(1, Math.floor((beside.left - 34) / 32) + 1);
      const x = box ? box.left + box.width - 13 : beside.left - 34 - 32 * (pagePins % perRow);
      const y = box ? box.top - 13 : beside.top + (beside.height - 26) / 2 - 32 * Math.floor(pagePins / perRow);
      if (!box) pagePins += 1;
      let left = Math.max(0, Math.min(x, width - 26));
      const top = Math.max(0, y);
      // Two feedbacks on one element (or on spots that close) fan out, to the left on the right half where there is
      // room: each drawn exactly on the other, the first was hidden under the second, neither seen nor pressed.
      const step = left > width / 2 ? -22 : 22;
      for (let n = 0; box && n < 100 && placed.some(([l, t]) => Math.abs(l - left) < 20 && Math.abs(t - top) < 20); n++) {
        left = Math.max(0, Math.min(left + step, width - 26));
      }
      if (!pin.hidden) placed.push([left, top]);
      pin.style.left = `${left}px`;
      pin.style.top = `${top}px`;
    }
  }
  let cardPin = null;
  function showCard(a, pin) {
    card.textContent = '';
    const add = (tag, cls, text, to) => { const n = document.createElement(tag); if (cls) n.className = cls; n.textContent = text; (to || card).appendChild(n); return n; };
    // Close first, in a header that stays at the top while a long card scrolls.
    const head = add('div', 'head', '');
    add('p', 'st', `Status: ${statusWords(a.status)}${a.summary ? ` · ${a.summary}` : ''}`, head);
    const close = add('button', '', 'Close', head); close.type = 'button'; close.addEventListener('click', closeCard);
    add('p', '', a.body);
    for (const r of a.replies) { const p = add('p', '', ''); const who = document.createElement('span'); who.className = 'who'; who.textContent = `${r.author.name}: `; p.appendChild(who); p.appendChild(document.createTextNode(r.body)); }
    if (!a.replies.length) add('p', 'st', 'No replies yet.');
    card.style.display = 'block';
    card.scrollTop = 0;
    // Below the pin if it fits, else above it, else as low as the viewport allows; never outside it.
    const r = pin.getBoundingClientRect(), w = card.offsetWidth, h = card.offsetHeight;
    const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
    const top = r.bottom + 6 + h <= vh - 10 ? r.bottom + 6 : r.top - 6 - h >= 10 ? r.top - 6 - h : vh - h - 10;
    Object.assign(card.style, { left: `${Math.max(10, Math.min(r.left, vw - w - 10))}px`, top: `${Math.max(10, top)}px` });
    cardPin = pin;
    card.focus();
  }
  function closeCard() {
    const back = focusIn(card) && cardPin;
    card.style.display = 'none';
    cardPin = null;
    if (back) back.focus();
  }
  dialogKeys(card, closeCard);
  // Esc closes the card, else the form, also once the visitor has clicked the page; not while they type in a page
  // field (Esc may clear a search box), nor when the page took the key or has its own modal dialog open.
  window.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented || picking || e.composedPath().includes(host)) return;
    if (e.target instanceof Element && e.target.closest('input, textarea, select, [contenteditable]:not([contenteditable=false])')) return;
    try { if (document.querySelector('dialog:modal')) return; } catch (_) { /* no :modal */ }
    if (card.style.display === 'block') closeCard(); else if (panel.style.display === 'block') closePanel();
  });
  let raf = 0;
  const onScroll = () => { if (!raf) raf = requestAnimationFrame(() => { raf = 0; placePins(); }); };
  window.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('resize', onScroll, { passive: true });
  // The page's CSS zoom on <html> (`html { zoom: 1.25 }`, which some sites scale themselves with) multiplies the host,
  // which hangs from <html>, whatever the host says: the picker's outline was drawn that much off its element (page
  // boxes are measured in viewport px) and the form ran off the top of the screen. The host takes the inverse.
  const unzoom = () => {
    const zoom = parseFloat(getComputedStyle(document.documentElement).zoom) || 1;
    host.style.setProperty('zoom', String(1 / zoom), 'important');
  };
  window.addEventListener('resize', unzoom, { passive: true });

  // On a single-page app the pins and the launcher's mark were the first page's on every later one.
  function moved() {
    // Words closed with Esc stay kept for their page (keepWords), as after a reload: the launcher here starts afresh.
    if (draft && panel.style.display !== 'block' && !draft.pending && !draft.refused && draft.page !== page()) draft = null;
    drawPins();
    markKept();
  }

  // -- start --------------------------------------------------------------------------------------------
  function start() {
    document.documentElement.appendChild(host);
    unzoom();
    if (topLayer) try { host.showPopover(); } catch (_) { /* shown already */ }
    if (params.has('gf_feedback')) startPicking();
    markKept();
    refreshMine();
    onAddressChange(moved);
    if (waiting()) flush(); else offerRefused();
  }
  // After the page's own load event: the widget's layout and requests never hold it back.
  if (document.readyState === 'complete') start(); else window.addEventListener('load', () => setTimeout(start, 0), { once: true });
})();
