/* Review Workbench widget loader (README "The site widget"). The page's load waits for this script: it only
 * starts the error rings (so the page's start-up is in them) and adds the app once the page has loaded. */
(() => {
  'use strict';
  if (window.__gfWidget) return;
  const tag = document.currentScript || document.querySelector('script[data-site][data-widget-token], script[data-mode="review"][src*="/widget.js"]');
  if (!tag || !tag.src) return;
  const review = (tag.dataset.mode || '').toLowerCase() === 'review';
  // Outside the review page's frame review mode has nothing to do, and must not stop the site's own widget.
  if (review && window.parent === window) return;
  // The page's fetch and XHR open, unwrapped, for the app's own requests; a page may lack fetch (the app uses XHR).
  let pageFetch = null;
  try { if (typeof window.fetch === 'function') pageFetch = window.fetch.bind(window); } catch (_) { /* a broken getter */ }
  const W = window.__gfWidget = { tag, review, base: tag.src.replace(/\/widget\.js(?:[?#].*)?$/, ''),
    console: [], network: [], fetch: pageFetch, open: window.XMLHttpRequest && XMLHttpRequest.prototype.open };
  const params = new URLSearchParams(location.search);
  if (!review && params.has('gf_stakeholder')) {
    // Out of the address bar before the page's own scripts can share or log the URL; the app keeps it.
    W.stakeholder = params.get('gf_stakeholder');
    params.delete('gf_stakeholder');
    const q = params.toString();
    history.replaceState(history.state, '', location.pathname + (q ? `?${q}` : '') + location.hash);
  }
  if (!review && (tag.dataset.captureConsole || '').toLowerCase() !== 'off') {
    const push = (ring, entry) => { ring.push(entry); if (ring.length > 20) ring.shift(); };
    const clip = (s, n) => String(s == null ? '' : s).slice(0, n);
    const fail = (method, url, status) => push(W.network, { method: clip(method, 16).toUpperCase(), url: clip(url, 2000), status, at: Date.now() });
    const error = console.error;
    console.error = function (...args) {
      try { push(W.console, { level: 'error', message: clip(args.map(a => (a instanceof Error ? a.stack || a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' '), 2000), at: Date.now() }); } catch (_) { /* unserialisable */ }
      return error.apply(this, args);
    };
    addEventListener('error', (e) => {
      const t = e.target;
      if (t && t !== window && (t.src || t.href)) fail('GET', t.src || t.href, 0);
      else push(W.console, { level: 'error', message: clip(`${e.message} (${e.filename}:${e.lineno})`, 2000), at: Date.now() });
    }, true);
    addEventListener('unhandledrejection', e => push(W.console, { level: 'unhandledrejection', message: clip(e.reason && (e.reason.stack || e.reason.message) || e.reason, 2000), at: Date.now() }));
    if (pageFetch) try { window.fetch = function (input, init) {
      const method = (init && init.method) || (input && input.method) || 'GET';
      const url = typeof input === 'string' ? input : (input && input.url) || String(input);
      const p = W.fetch(input, init);
      return p && typeof p.then === 'function' ? p.then((r) => { if (r && r.status >= 400) fail(method, url, r.status); return r; }, (err) => { fail(method, url, 0); throw err; }) : p;
    }; } catch (_) { /* read-only */ }
    const open = W.open;
    if (open) XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      this.addEventListener('loadend', () => { if (this.status === 0 || this.status >= 400) fail(method, url, this.status); });
      return open.call(this, method, url, ...rest);
    };
  }
  // Trusted Types (README): the app's URL and HTML go through a policy. It passes only what the widget
  // writes, the scripts of its own server and its shell's markup once, or it would launder the page's strings.
  let shell = 1;
  try {
    W.tt = trustedTypes.createPolicy('gf-widget', {
      createScriptURL: (u) => { if (u.startsWith(`${W.base}/widget/`)) return u; throw new TypeError('gf-widget: not a widget script'); },
      createHTML: (h) => { if (shell--) return h; throw new TypeError('gf-widget: the widget writes its markup once'); },
    });
  } catch (_) { /* no Trusted Types, or a page policy that does not name gf-widget */ }
  const add = () => {
    const app = document.createElement('script'), url = `${W.base}/widget/__GF_APP__`; // the server writes the app's hashed name here
    app.src = W.tt ? W.tt.createScriptURL(url) : url;
    (document.head || document.documentElement).appendChild(app);
  };
  // In review mode the review page, not a visitor, is waiting.
  if (review || document.readyState === 'complete') add(); else addEventListener('load', () => setTimeout(add, 0), { once: true });
})();
