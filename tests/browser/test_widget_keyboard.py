"""The site widget's picker from the keyboard alone, in Debian's Chromium against a real `workbench serve`: its toolbar's
arrow keys (a roving tabindex) and an element picked by Tab and the arrow keys, sent, and found again by its anchors."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.ax import live_statuses
from tests.browser.test_widget import allow, detail, host_page, send

# Every key the page itself hears, bubbling to its window as a page's own shortcuts would.
PAGE_HEARS = "window.addEventListener('keydown', e => { document.body.dataset.heard = (document.body.dataset.heard || '') + e.key + ' '; })"


def start_from_the_keyboard(page):
    """The launcher, pressed with Enter: the focus goes into the picker's toolbar, which is returned."""
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    launcher.focus()
    page.keyboard.press("Enter")
    bar = page.get_by_role("toolbar", name="Pick an element")
    expect(bar.get_by_role("button", name="Whole page")).to_be_focused()
    return bar


def test_the_pickers_toolbar_is_one_tab_stop_whose_buttons_the_arrow_keys_go_round(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.evaluate(PAGE_HEARS)
    bar = start_from_the_keyboard(page)
    whole, cancel = bar.get_by_role("button", name="Whole page"), bar.get_by_role("button", name="Cancel")
    expect(whole).to_have_attribute("tabindex", "0")
    expect(cancel).to_have_attribute("tabindex", "-1")
    for key, now in (("ArrowRight", cancel), ("ArrowRight", whole), ("ArrowLeft", cancel), ("Home", whole), ("End", cancel)):
        page.keyboard.press(key)
        expect(now).to_be_focused()
    expect(cancel).to_have_attribute("tabindex", "0")  # the one Tab stop is the button the arrows left the focus on
    expect(whole).to_have_attribute("tabindex", "-1")
    heard = page.evaluate("document.body.dataset.heard || ''").split()
    assert not {"ArrowRight", "ArrowLeft", "Home", "End"} & set(heard), heard  # no page shortcut heard the toolbar's keys
    # Tab leaves the toolbar from whichever button, not on to its next one; Shift+Tab comes back to where it was.
    page.keyboard.press("Home")
    page.keyboard.press("Tab")
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(whole).to_be_focused()
    # The pointer's outline is as it was: no name on it, nothing said.
    page.locator("#buy").hover(force=True)
    expect(page.locator(".outline")).to_be_visible()
    expect(page.locator(".outline .name")).to_be_hidden()
    expect(bar.get_by_role("status")).to_have_text("")
    page.keyboard.press("End")
    page.keyboard.press("Enter")  # Cancel
    expect(bar).to_be_hidden()
    expect(launcher).to_be_focused()


def test_an_element_that_takes_no_focus_is_picked_and_sent_with_the_keyboard_alone(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.evaluate("document.querySelectorAll('main button').forEach(b => b.addEventListener('click', () => { document.body.dataset.bought = '1'; }))")
    page.evaluate(PAGE_HEARS)
    bar = start_from_the_keyboard(page)
    toaster = page.locator("main .card").nth(1)
    button, price = toaster.get_by_role("button"), toaster.locator(".price")
    for _ in range(10):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    expect(button).to_be_focused()
    outline, name, said = page.locator(".outline"), page.locator(".outline .name"), bar.get_by_role("status")
    expect(name).to_have_text("button “Add to cart”")
    expect(said).to_have_text("button “Add to cart”")
    assert len(live_statuses(page)) == 1  # the announcement is a polite live region
    # Left: the price before the button; Up: the card around it; Down: the card's first child; Right: the price again.
    for key, what in (
        ("ArrowLeft", "p “€ 59.00”"),
        ("ArrowUp", "div “Toaster € 59.00 Add to cart”"),
        ("ArrowDown", "h2 “Toaster”"),
        ("ArrowRight", "p “€ 59.00”"),
    ):
        page.keyboard.press(key)
        expect(said).to_have_text(what)
        expect(name).to_have_text(what)
    expect(button).to_be_focused()  # the arrows move the outline, not the focus: the next Tab goes on from the button
    assert outline.bounding_box() == price.bounding_box()
    assert "Arrow" not in page.evaluate("document.body.dataset.heard || ''")  # the page's shortcuts did not hear them
    page.keyboard.press("Enter")
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_be_visible()
    assert page.evaluate("document.body.dataset.bought") is None  # the focused button was not pressed
    form.get_by_label("Comment").fill("Picked with the arrow keys")
    ann = detail(proc, creds, send(page, form)["id"])
    anchor = ann["capture"]["anchor"]
    assert ann["selector"] == anchor["css"] and anchor["text_quote"]["exact"] == "€ 59.00"
    expect(page.locator(ann["selector"])).to_have_count(1)
    assert price.evaluate("(e, s) => document.querySelector(s) === e", ann["selector"])
    assert price.evaluate("(e, x) => document.evaluate(x, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue === e", anchor["xpath"])


def test_with_nothing_focused_the_arrow_keys_start_at_the_pages_first_drawn_element(page, served, host_site):
    """?gf_feedback opens the picker with the focus on the page's body: a page with nothing to Tab to is still pickable.
    The walk passes over what is not drawn, says where it can go no further, and scrolls what it reaches into view."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds) + "?gf_feedback")
    bar = page.get_by_role("toolbar", name="Pick an element")
    expect(bar).to_be_visible()
    page.evaluate("""() => {
        const hidden = Object.assign(document.createElement('p'), { hidden: true, textContent: 'Not drawn' });
        const invisible = Object.assign(document.createElement('p'), { textContent: 'Not seen' });
        invisible.style.visibility = 'hidden';
        document.body.prepend(hidden, invisible);
        document.body.insertAdjacentHTML('beforeend', '<div style="height: 2000px"></div><footer>Contact us</footer>');
    }""")
    said = bar.get_by_role("status")
    for key, what in (
        ("ArrowDown", "header “Acme shop”"),
        ("ArrowDown", "h1 “Acme shop”"),
        ("ArrowDown", "h1 “Acme shop”: nothing inside it"),
        ("ArrowUp", "header “Acme shop”"),
        ("ArrowUp", "header “Acme shop”: nothing around it"),
        ("ArrowLeft", "header “Acme shop”: nothing before it"),
        ("ArrowRight", "main “Kettle € 39.00 Add to cart Toaster € 59.00 Add to cart Break”"),
        ("ArrowRight", "div"),
        ("ArrowRight", "footer “Contact us”"),
    ):
        page.keyboard.press(key)
        expect(said).to_have_text(what)
    footer = page.locator("footer")
    expect(footer).to_be_in_viewport()
    outline = page.locator(".outline")
    # The outline is drawn where the footer is once the scroll has settled.
    page.wait_for_function(
        "() => { const o = document.querySelector('[data-gf-widget]').shadowRoot.querySelector('.outline');"
        " return Math.abs(o.getBoundingClientRect().top - document.querySelector('footer').getBoundingClientRect().top) < 1; }"
    )
    assert outline.bounding_box() == footer.bounding_box()
    # The pointer moving takes the outline, unnamed; the arrows take it back, and a move the browser makes up where the
    # pointer already is (as after a scroll) leaves it with them.
    page.mouse.move(600, 300)
    expect(outline).not_to_have_class(re.compile(r"\bnamed\b"))
    page.keyboard.press("ArrowRight")
    expect(said).to_have_text("footer “Contact us”")  # from the spacer under the pointer
    expect(outline).to_have_class(re.compile(r"\bnamed\b"))
    page.locator(".catcher").dispatch_event("mousemove", {"clientX": 600, "clientY": 300})
    expect(outline).to_have_class(re.compile(r"\bnamed\b"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Send feedback").locator(".about")).to_have_text("About: footer “Contact us”")


def test_the_launcher_says_whether_the_picker_or_the_form_is_open(page, served, host_site):
    """The launcher opens the picker or the form, and pressed again closes them; its name stays "Feedback", so its
    ``aria-expanded`` is what tells a screen reader that pressing it now cancels."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    bar = start_from_the_keyboard(page)
    expect(launcher).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(bar).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    start_from_the_keyboard(page)
    page.keyboard.press("Enter")  # Whole page: the form
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
