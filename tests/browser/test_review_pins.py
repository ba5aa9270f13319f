"""The review page's pins where the tests of test_review_page.py did not look: at the preview's edges, close together,
and a round whose preview the builder rewrote or that closes while a pin is being placed."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_review_page import agent_ready, open_round, post_comment, start_round
from tests.session_helpers import bearer


def inside(box: dict, frame: dict) -> bool:
    return (box["x"] >= frame["x"] and box["y"] >= frame["y"]
            and box["x"] + box["width"] <= frame["x"] + frame["width"] and box["y"] + box["height"] <= frame["y"] + frame["height"])


def finalize_under(page, url: str, session: dict, key: str):
    """The round finalized while the page is open, and read again as when the tab comes back: the notice, saying so."""
    assert httpx.post(f"{url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    notice = page.locator("#notice")
    expect(notice).to_have_text("Session is already done. The page is read-only.")
    return notice


def test_a_pin_at_the_top_or_left_edge_of_the_preview_is_drawn_whole_inside_it(page, served):
    """A comment on the store's top banner (its announcement bar, its menu) had its pin drawn above its point, outside
    the preview, which clips it: a 3 px sliver of orange, neither readable nor clickable. The keyboard's pin cursor,
    moved up there, vanished the same way."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "The banner's words are too small.", selector="p.announcement", offsetX=2, offsetY=3,
                 pinX=0.2, pinY=0.3)
    open_round(page, session)
    pin = page.get_by_role("button", name="Comment 1", exact=True)
    expect(pin).to_be_visible()
    frame = page.locator("#preview").bounding_box()
    box = pin.bounding_box()
    assert frame is not None and box is not None
    assert inside(box, frame), f"the pin {box} is cut by the preview's edge {frame}"
    pin.click()  # whole, so it can be clicked: it leads to its comment
    expect(page.locator("#list .comment", has_text="The banner's words are too small.")).to_be_focused()

    page.keyboard.press("c")
    cursor = page.locator("#cursor")
    expect(cursor).to_be_visible()
    for _ in range(40):  # up and left to the corner: the cursor stops at the preview's edge
        page.keyboard.press("Shift+ArrowUp")
        page.keyboard.press("Shift+ArrowLeft")
    box = cursor.bounding_box()
    assert box is not None
    assert inside(box, frame), f"the pin cursor {box} is cut by the preview's edge {frame}"


def test_pins_close_together_each_show_their_number(page, served):
    """Pins a few px apart (not on one spot) piled up: each was moved one step right of the pins on its own spot only,
    so the second, third and fourth were drawn over one another and only the last number showed."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    for n in range(4):
        post_comment(proc.url, session, f"Close together {n + 1}.", selector="#hero-title", offsetX=300 + 3 * n,
                     offsetY=20 + 2 * n, pinX=40, pinY=20)
    open_round(page, session)
    pins = [page.get_by_role("button", name=f"Comment {n}", exact=True) for n in (1, 2, 3, 4)]
    for pin in pins:
        expect(pin).to_be_visible()
    for pin, n in zip(pins, (1, 2, 3, 4), strict=True):
        # What is drawn at the middle of each pin, where its number is, is that pin: no other covers it.
        on_top = pin.evaluate("""p => { const r = p.getBoundingClientRect();
                                       return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p; }""")
        assert on_top, f"pin {n}'s number is covered by another pin"


def test_the_keyboard_placing_a_pin_when_the_round_closes_goes_to_the_notice_saying_why(page, served):
    """The round closed (the 15 s re-read) while a keyboard user was placing a pin: the catcher holding the focus was
    hidden and the keyboard dropped to the page's start, unsaid, as it did from Add comment before."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    open_round(page, session)
    page.keyboard.press("c")
    catcher = page.locator("#catcher")
    expect(catcher).to_be_focused()
    notice = finalize_under(page, proc.url, session, key)
    expect(catcher).to_be_hidden()
    expect(notice).to_be_focused()


def test_the_preview_is_reloaded_when_the_builder_has_finished_with_it(page, served):
    """The builder rewrites the round's preview while it is processing, and hands it back for review at the same URL:
    the page, open all along, went on showing the build it had loaded before (and pinned new comments on it)."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    api = f"{proc.url}/api/v1/feedback-sessions/{session['id']}"
    for action in ("submit-round", "approve-tasks"):
        assert httpx.post(f"{api}/{action}", headers=bearer(key)).status_code == 200, action
    open_round(page, session)
    expect(page.locator("#status")).to_have_text("processing")
    frame = page.frame_locator("#preview")
    frame.locator("#cart-link").click()  # the reviewer looks around the old build meanwhile
    frame.locator("#checkout").wait_for()
    agent_ready(page)
    page.locator("#preview").evaluate("f => { f.contentWindow.oldBuild = true; }")

    assert httpx.post(f"{api}/builder-finished", headers=bearer(key)).status_code == 200
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the tab comes back: the round is read again
    expect(page.get_by_role("button", name="Add comment")).to_be_visible()
    page.wait_for_function("() => { const w = document.querySelector('#preview').contentWindow;"
                           " return !w.oldBuild && w.document.readyState === 'complete' && w.document.querySelector('#checkout'); }",
                           timeout=10000)
    agent_ready(page)  # and the pins follow the new build's page, the one the reviewer was on
    assert page.locator("#preview").evaluate("f => f.contentWindow.location.pathname").endswith("/cart")


def test_pins_close_together_at_the_right_edge_fan_out_inside_the_preview(page, served):
    """Pins fan out to the right so each number shows; at the preview's right edge that drew them past it, where the
    frame cut them off. There they fan out to the left."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    for n in range(3):  # no element found: drawn at their share of the page, at its right edge
        post_comment(proc.url, session, f"At the edge {n + 1}.", selector="#no-such-element", offsetX=0, offsetY=0,
                     pinX=99.5, pinY=30)
    open_round(page, session)
    frame = page.locator("#preview").bounding_box()
    assert frame is not None
    for n in (1, 2, 3):
        pin = page.get_by_role("button", name=f"Comment {n}", exact=True)
        expect(pin).to_be_visible()
        box = pin.bounding_box()
        assert box is not None
        assert inside(box, frame), f"pin {n} {box} is cut by the preview's edge {frame}"
        on_top = pin.evaluate("""p => { const r = p.getBoundingClientRect();
                                       return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p; }""")
        assert on_top, f"pin {n}'s number is covered by another pin"


@pytest.mark.parametrize("closing", ["Save", "Stay anonymous", "Escape"])
def test_a_name_dialog_closed_after_the_round_closed_under_it_leaves_the_keyboard_on_the_notice(page, served, closing):
    """Add comment asks a first-time reviewer's name; the round closed while it was typed. Save kept the name and closed
    the dialog, which could not give the focus back to Add comment, hidden by then: it stayed on Save, in the closed
    dialog, where the keyboard did nothing."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    open_round(page, session, name=None)
    page.get_by_role("button", name="Add comment").click()
    dialog = page.get_by_role("dialog", name="Your name")
    expect(dialog).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Ines")
    notice = finalize_under(page, proc.url, session, key)
    if closing == "Escape":
        page.keyboard.press("Escape")
    else:
        dialog.get_by_role("button", name=closing).click()
    expect(dialog).to_be_hidden()
    expect(notice).to_be_focused()
    kept = {"Save": "Ines", "Stay anonymous": "", "Escape": None}[closing]
    assert page.evaluate("localStorage.getItem('workbench.reviewerName')") == kept  # as the reviewer said, all the same
    expect(page.locator("#catcher")).to_be_hidden()  # and nothing is being placed


def test_the_round_is_read_again_as_soon_as_the_network_is_back(page, served):
    """Offline, the page says the comments may be out of date and that it tries again every 15 s; when the network came
    back it still waited for that timer. (The page's clock is paused: only the browser's online event can read it now.)"""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    page.clock.install()
    open_round(page, session)
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)  # no timer of the page's runs from here
    notice = page.locator("#notice")
    page.context.set_offline(True)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(notice).to_contain_text("The server could not be reached")
    post_comment(proc.url, session, "Made while this reviewer was offline.")
    page.context.set_offline(False)
    expect(notice).to_be_hidden()
    page.locator("#list .comment", has_text="Made while this reviewer was offline.").wait_for()
