"""The site widget among a real page's own scripts, in Debian's Chromium against a real `workbench serve`: what the
visitor does in the widget (keys, clicks, focus) is the widget's, not the page's."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_widget import allow, detail, open_form, send

# A page as sites write them: a "/" shortcut to its search and Space for its own use, both skipped while the visitor
# types in a field (judged, as pages do, by the event's target); a click and key log; and a modal of its own (a
# cookie notice, a sign-up box) whose focus trap pulls the focus back when it goes to anything outside it.
BUSY_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Busy shop</title>
<script src="{base}/widget.js" data-site="{site}" data-widget-token="{token}" async></script>
</head><body><input id="search" placeholder="Search"><p id="price">€ 39.00</p>
<div id="notice" role="dialog" aria-label="Cookies" tabindex="-1"><button id="ok">OK</button></div>
<script>
const heard = (what) => {{ document.body.dataset.heard = (document.body.dataset.heard || '') + what + ' '; }};
document.addEventListener('keydown', (e) => {{
  heard('key:' + e.key);
  if (e.target.closest('input, textarea, select, [contenteditable]')) return;
  if (e.key === '/') {{ e.preventDefault(); document.getElementById('search').focus(); }}
  if (e.key === ' ') e.preventDefault();
}});
document.addEventListener('click', (e) => heard('click'));
const notice = document.getElementById('notice');
document.addEventListener('focusin', (e) => {{ if (trap && !notice.contains(e.target)) notice.focus(); }});
let trap = false;
</script></body></html>"""


def test_keys_clicks_and_focus_in_the_widget_are_not_the_pages(page, served, host_site):
    """The page's listeners heard the widget's events as the host element's (the shadow root retargets them): a
    page's "/" shortcut, which skips fields, took the focus to its search box halfway through a comment (the rest was
    typed into the page), Space was swallowed, every click in the widget was a click on the page, and a page's
    focus trap took the focus back from the form, which could not be typed in at all."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_site.write("busy.html", BUSY_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"])))
    page.evaluate("trap = true")
    form = open_form(page, "#price")
    comment = form.get_by_label("Comment")
    comment.click()
    page.keyboard.type("a/b c")
    expect(comment).to_have_value("a/b c")
    expect(comment).to_be_focused()
    expect(page.locator("#search")).to_have_value("")
    assert page.evaluate("document.body.dataset.heard || ''") == "", "the page heard the widget's keys or clicks"
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["body"] == "a/b c"
    assert page.evaluate("document.body.dataset.heard || ''") == ""
    # The page's own keys and clicks are still its own.
    page.locator("#search").click()
    page.keyboard.press("x")
    assert page.evaluate("document.body.dataset.heard").split() == ["click", "key:x"]


def test_a_dark_page_does_not_darken_the_forms_own_controls(page, served, host_site):
    """A page declaring itself dark (`<meta name="color-scheme" content="dark">`, as dark sites do) gave the widget's
    white form the browser's dark controls: a dark grey "Choose File" button, a dark drop-down list and dark scroll bars
    on the white panel. The widget is drawn light, so its controls are too."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    html = (f'<!doctype html><html><head><meta charset="utf-8"><meta name="color-scheme" content="dark">'
            f'<style>body {{ background: #111; color: #eee }}</style>'
            f'<script src="{proc.url}/widget.js" data-site="{creds["site_id"]}" data-widget-token="{creds["widget_token"]}" async></script>'
            f'</head><body><p id="price">€ 39.00</p></body></html>')
    page.emulate_media(color_scheme="dark")
    page.goto(host_site.write("dark.html", html))
    form = open_form(page, "#price")
    file_button = form.get_by_role("button", name="Attach or paste a screenshot")
    background = file_button.evaluate("e => getComputedStyle(e, '::file-selector-button').backgroundColor")
    channels = [int(v) for v in background[background.index("(") + 1 : background.index(")")].split(",")[:3]]
    assert min(channels) >= 200, f"the file chooser's button is {background} on the white form"
    assert form.evaluate("e => getComputedStyle(e).colorScheme") == "light"
