"""The site widget in Debian's Chromium: a host page on a second origin, a real `workbench serve`, the documented API."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
from typing import Any, cast

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.ax import ax_dialogs, live_statuses
from tests.browser.conftest import bootstrap, fresh_credentials, opened
from tests.conftest import ServerProcess, bearer
from tests.session_helpers import wait_until
from workbench.services import widget as widget_service
from workbench.services.local import local_user

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Acme shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ font-family: sans-serif; margin: 0; }} .price {{ color: rgb(200, 30, 30); font-size: 28px; }}
main {{ padding: 24px; }} .card {{ border: 1px solid #ccc; padding: 12px; margin: 8px 0; }}</style>
<script src="{base}/widget.js" data-site="{site}" data-widget-token="{token}" {extra} async></script>
</head><body><header><h1>Acme shop</h1></header>
<main><div class="card"><h2>Kettle</h2><p class="price">€ 39.00</p><button id="buy">Add to cart</button></div>
<div class="card"><h2>Toaster</h2><p class="price">€ 59.00</p><button>Add to cart</button></div>
<button id="break" onclick="console.error('cart total is NaN'); fetch('/missing.json')">Break</button></main></body></html>"""


# A 1x1 PNG: what a visitor might attach instead of the widget's own screenshot.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6e2d80000000049454e44ae426082")


def allow(proc: ServerProcess, site_id: str, origin: str) -> None:
    """The site owner's step, through the service `workbench sites origins SITE --add ORIGIN` calls
    (the CORS test takes the command itself)."""
    with opened(proc.data_dir) as wb:
        widget_service.add_origin(wb, local_user(wb, create=False), site_id, origin)


def allow_with_the_cli(proc: ServerProcess, site_id: str, origin: str) -> None:
    """The site owner's step as documented: `workbench sites origins SITE --add ORIGIN`, against the served store."""
    subprocess.run(
        [sys.executable, "-m", "workbench", "sites", "origins", site_id, "--add", origin, "--data-dir", str(proc.data_dir)],
        check=True, capture_output=True,
    )


def host_page(host_site, proc: ServerProcess, creds: dict, name: str = "index.html", extra: str = "") -> str:
    return host_site.write(name, HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra=extra))


def site_annotations(proc: ServerProcess, creds: dict) -> list[dict]:
    r = httpx.get(f"{proc.url}/api/v1/sites/{creds['site_id']}/annotations", headers=bearer(creds["member_token"]))
    r.raise_for_status()
    return r.json()["items"]


def detail(proc: ServerProcess, creds: dict, ann_id: str) -> dict:
    r = httpx.get(f"{proc.url}/api/v1/annotations/{ann_id}", headers=bearer(creds["member_token"]))
    r.raise_for_status()
    return r.json()


def open_form(page, pick: str | None = "#buy"):
    """Launcher, then the picker: click an element (or "Whole page"); returns the form."""
    page.get_by_role("button", name="Feedback", exact=True).click()
    if pick is None:
        page.get_by_role("button", name="Whole page").click()
    else:
        # The picker's catcher covers the page, so these are clicks at the element's place (as a visitor's
        # are), without Playwright's check that the element itself would receive them.
        page.locator(pick).hover(force=True)
        expect(page.locator(".outline")).to_be_visible()
        page.locator(pick).click(force=True)
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_be_visible()
    return form


def send(page, form) -> dict:
    with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
        form.get_by_role("button", name="Send").click()
    assert resp.value.status == 201, resp.value.text()
    return resp.value.json()


def send_each(page, feedbacks) -> None:
    """Each (pick, comment) picked, written and sent in turn, the form closing after each."""
    for pick, body in feedbacks:
        form = open_form(page, pick)
        form.get_by_label("Comment").fill(body)
        send(page, form)
        expect(form).to_be_hidden()


def test_pick_send_and_read_back_through_the_api(page, served, host_site):
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.locator("#break").click()  # a console error and a failed request for the rings
    form = open_form(page, ".card:nth-of-type(2) .price")
    expect(page.get_by_role("button", name="Whole page")).to_be_hidden()
    form.get_by_label("Kind").select_option("design")
    form.get_by_label("Comment").fill("The price is hard to read")
    form.get_by_label("Name (optional)").fill("Vera Visitor")
    expect(form.get_by_role("img", name="Screenshot")).to_be_visible(timeout=15_000)
    sent = send(page, form)

    ann = detail(proc, creds, sent["id"])
    assert ann["kind"] == "design" and ann["body"] == "The price is hard to read" and ann["auto_fix"] is False
    assert ann["submitter"] == {"name": "Vera Visitor", "type": "anonymous", "has_email": False}
    # Its anchors find the clicked element, and only it.
    clicked = page.locator("main .card").nth(1).locator(".price")
    for sel in (ann["selector"], ann["capture"]["anchor"]["css"], "xpath=" + ann["capture"]["anchor"]["xpath"]):
        found = page.locator(sel)
        expect(found).to_have_count(1)
        assert found.evaluate("e => e") == clicked.evaluate("e => e") and found.inner_text() == "€ 59.00"
    quote = ann["capture"]["anchor"]["text_quote"]
    assert quote["exact"] == "€ 59.00" and quote["prefix"].endswith("Toaster") and quote["suffix"].startswith("Add to cart")
    box = ann["capture"]["anchor"]["box"]
    assert box["width"] > 0 and box["height"] > 0
    assert ann["computed_styles"]["color"] == "rgb(200, 30, 30)" and ann["computed_styles"]["font-size"] == "28px"
    assert ann["capture"]["viewport"] == {"width": 1280, "height": 800, "device_pixel_ratio": 1.0,
                                          "scroll_x": 0.0, "scroll_y": 0.0}
    assert "Chrome" in ann["capture"]["user_agent"]
    assert any("cart total is NaN" in e["message"] for e in ann["capture"]["console"])
    assert any(e["url"].endswith("/missing.json") and e["status"] == 404 for e in ann["capture"]["network"])
    # The screenshot, read back through the documented GET /uploads/{key}: a real image of the viewport, decoded whole.
    got = httpx.get(f"{proc.url}/uploads/{ann['screenshot_key']}", headers=bearer(creds["member_token"]))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png", got.headers
    with Image.open(io.BytesIO(got.content)) as shot:
        shot.load()  # every pixel decoded, not just a header read
        assert shot.format == "PNG" and shot.size == (1280, 800)
    # Name remembered for next time.
    page.reload()
    form = open_form(page, None)
    expect(form.get_by_label("Name (optional)")).to_have_value("Vera Visitor")


def test_the_scroll_of_the_screenshot_is_stored_so_the_element_can_be_pinned_on_it(page, served, host_site):
    from workbench.tui.widgets.pictures import pin_of

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    tall = HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
    # Taller than a canvas may be (16,384 px), with a green band above the main part and a long list below it:
    # copied whole, its 12,000 elements held the page's thread for many seconds, past the capture's 8.
    rows = "".join(f'<div class="row"><span>Item {n}</span><p>About item {n}</p><a href="#">more</a></div>' for n in range(3000))
    url = host_site.write("tall.html", tall.replace("<main>", '<div style="height: 1500px; background: rgb(0, 160, 0)"></div><main>')
                         .replace("</main>", f'</main><div style="height: 20000px"></div>{rows}'))
    page.goto(url)
    page.evaluate("scrollTo(0, 1300)")
    page.wait_for_function("scrollY === 1300")
    form = open_form(page, "#buy")
    scrolled = page.evaluate("[scrollX, scrollY]")
    assert scrolled[1] > 0
    box = page.locator("#buy").evaluate("e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }")
    form.get_by_label("Comment").fill("Button too close to the price")
    shot = form.get_by_role("img", name="Screenshot")
    expect(shot).to_be_visible(timeout=15_000)
    # The picture is the viewport as the visitor saw it, at full size: the band's last 200 px on top, then the page.
    pixel = """(img, [x, y]) => { const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0); return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)); }"""
    assert shot.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1280, 800]
    assert shot.evaluate(pixel, [640, 100]) == [0, 160, 0]
    assert shot.evaluate(pixel, [640, 400]) == [255, 255, 255]
    ann = detail(proc, creds, send(page, form)["id"])
    viewport = ann["capture"]["viewport"]
    assert (viewport["scroll_x"], viewport["scroll_y"]) == (scrolled[0], scrolled[1])
    # The stored box and scroll put the pin on the element as the screenshot shows it.
    pin = pin_of(ann["capture"])
    assert pin is not None
    x, y = pin
    assert box[0] <= x * 1280 <= box[0] + box[2] and box[1] <= y * 800 <= box[1] + box[3]


def test_an_attached_picture_gets_no_scroll(page, served, host_site):
    """A picture the visitor attached may show anything: no scroll is stored, so no pin is drawn on it."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    attach = form.get_by_label("Attach or paste a screenshot")
    # Over the server's 10 MB: said at once, not after a long upload and a refusal.
    # Made in the page: 10 MB through Playwright's protocol takes seconds.
    attach.evaluate("""input => { const t = new DataTransfer();
        t.items.add(new File([new Uint8Array(10 * 1024 * 1024 + 1)], 'camera.png', {type: 'image/png'}));
        input.files = t.files; input.dispatchEvent(new Event('change', {bubbles: true})); }""")
    expect(form.get_by_role("alert")).to_have_text("That picture is over 10 MB: attach a smaller one, or send without one.")
    expect(attach).to_be_focused()
    attach.set_input_files(files=[{"name": "mine.png", "mimeType": "image/png", "buffer": TINY_PNG}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    form.get_by_label("Comment").fill("See my picture")
    # A proxy in front of the server with a smaller body cap: its 413 is about the picture, and says what to do.
    page.route("**/annotations", lambda route: route.fulfill(status=413, headers={"Access-Control-Allow-Origin": host_site.url},
               content_type="application/json", body='{"detail": "Request body too large: this endpoint accepts at most 1048576 bytes"}'), times=1)
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("alert")).to_have_text("Not sent. Screenshot: too large to send: attach a smaller picture, or send without one.")
    expect(attach).to_be_focused()
    attach.set_input_files(files=[{"name": "mine.png", "mimeType": "image/png", "buffer": TINY_PNG}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    ann = detail(proc, creds, send(page, form)["id"])
    assert "scroll_y" not in ann["capture"]["viewport"] and ann["capture"]["viewport"]["width"] == 1280
    assert ann["screenshot_key"]


TINY_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def test_an_attached_file_is_taken_by_its_bytes_as_the_server_takes_it(page, served, host_site):
    """QA: a text file chosen (or named .png) showed "Attached." over a broken image and was refused only at Send, in
    the server's words ("screenshot is not an image of type image/png (its first bytes do not match)"); a GIF, which
    the server takes, was dropped without a word, the screenshot sent in its place."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    attach = form.get_by_label("Attach or paste a screenshot")
    attach.set_input_files(files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture at all\n"}])
    expect(form.get_by_role("alert")).to_have_text(
        "That file is not a PNG, JPEG, WebP or GIF picture: attach another, or send without one.")
    expect(attach).to_be_focused()
    expect(form.get_by_text("Attached.")).to_be_hidden()
    # A GIF is a picture the server takes: attached, and the refusal above is gone.
    attach.set_input_files(files=[{"name": "screen.gif", "mimeType": "image/gif", "buffer": TINY_GIF}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    expect(page.locator(".alert")).to_be_empty()
    form.get_by_label("Comment").fill("See my GIF")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["screenshot_key"].endswith(".gif")
    expect(form).to_be_hidden()  # "Sent", and closed
    # A PNG whose name says JPEG is sent as what it is.
    form = open_form(page, "#buy")
    form.get_by_label("Attach or paste a screenshot").set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": TINY_PNG}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    form.get_by_label("Comment").fill("See my renamed picture")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["screenshot_key"].endswith(".png")


def test_console_capture_can_be_switched_off_and_escape_cancels(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds, extra='data-capture-console="off"'))
    page.locator("#break").click()
    page.get_by_role("button", name="Feedback", exact=True).click()
    expect(page.get_by_role("toolbar", name="Pick an element")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("toolbar", name="Pick an element")).to_be_hidden()
    page.locator("#buy").click()  # the page works again: no form opens
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_hidden()
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Whole page note")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["selector"] is None and ann["capture"]["anchor"] == {"whole_page": True}
    assert "console" not in ann["capture"] or ann["capture"]["console"] == []
    assert "network" not in ann["capture"] or ann["capture"]["network"] == []


@pytest.mark.parametrize("default", [None, "never", "optional_off", "optional_on"])
def test_the_auto_fix_toggle_follows_the_stakeholder_default(page, served, host_site, default):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    if default is not None:
        sh = httpx.post(
            f"{proc.url}/api/widget/sites/{creds['site_id']}/stakeholders",
            json={"name": "Stella", "auto_fix_default": default}, headers=bearer(creds["member_token"]),
        ).json()
        if default == "optional_off":  # the site names the stakeholder in the tag
            url = host_page(host_site, proc, creds, "stella.html", extra=f'data-stakeholder-token="{sh["token"]}"')
        else:  # a link opened once: remembered, and taken out of the address bar
            page.goto(url + f"?gf_stakeholder={sh['token']}")
            assert "gf_stakeholder" not in page.url
            # The loader adds the app after the page's load, and the app stores the token before it
            # draws the launcher: leaving before then would forget the link.
            expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()
    page.goto(url)
    with page.expect_response(lambda r: "/config" in r.url) as cfg:
        form = open_form(page)
    assert cfg.value.ok
    toggle = form.get_by_label("Auto-fix")
    if default in (None, "never"):
        expect(toggle).to_be_hidden()
    else:
        expect(toggle).to_be_visible()
        expect(toggle).to_be_checked(checked=default == "optional_on")
        if default == "optional_off":
            toggle.check()  # the stakeholder authorises this one
    form.get_by_label("Comment").fill("Make the button bigger")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["auto_fix"] is (default in ("optional_off", "optional_on"))
    assert ann["submitter"]["type"] == ("anonymous" if default is None else "stakeholder")


def test_offline_submission_is_delivered_exactly_once_after_a_restart(page, served_alone, host_site):
    proc, creds = served_alone
    allow(proc, creds["site_id"], host_site.url)
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/annotations") and r.method == "POST" else None)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("Sent while the server was down")
    proc.stop()  # the server goes away after the page loaded the widget
    form.get_by_role("button", name="Send").click()
    status = form.get_by_role("status")
    expect(status).to_have_text("Saved in this browser: it will be sent when the server can be reached.", timeout=15_000)
    outbox = f"localStorage.getItem('gf:{creds['site_id']}:outbox')"
    assert page.evaluate(f"JSON.parse({outbox}).length") == 1
    restarted = ServerProcess(proc.data_dir, port=proc.port)
    try:
        expect(status).to_have_text("Sent. Thank you!", timeout=30_000)
        expect(form).to_be_hidden()  # delivered: the form is done with
        assert page.evaluate(outbox) == "[]"
        # Every attempt, failed or not, carried the one key chosen at submit.
        keys = {r.headers["idempotency-key"] for r in posts}
        assert len(posts) >= 2 and len(keys) == 1
        # A reload sends nothing again.
        with page.expect_response(lambda r: "/mine" in r.url):
            page.reload()
        anns = site_annotations(restarted, creds)
        assert [a["body"] for a in anns] == ["Sent while the server was down"]
        assert len(posts) >= 2 and len({r.headers["idempotency-key"] for r in posts}) == 1
        # Had the answer been lost, the same request again is the same annotation, not a second one.
        again = httpx.post(
            f"{restarted.url}/api/widget/sites/{creds['site_id']}/annotations", content=posts[-1].post_data,
            headers={"Content-Type": "application/json", "X-GF-Widget-Token": creds["widget_token"], "Idempotency-Key": keys.pop()},
        )
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true" and again.json()["id"] == anns[0]["id"]
        assert len(site_annotations(restarted, creds)) == 1
    finally:
        restarted.stop()


def test_revisit_shows_status_and_replies_on_a_pin(page, context, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    page.goto(url)
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("Button does nothing")
    ann_id = send(page, form)["id"]
    member = bearer(creds["member_token"])
    assert httpx.post(f"{proc.url}/api/v1/annotations/{ann_id}/replies", json={"body": "Fixed in the next release"}, headers=member).status_code == 201
    res = httpx.post(f"{proc.url}/api/v1/annotations/{ann_id}/resolutions", json={"explanation": "Handler wired"}, headers=member)
    assert res.status_code == 201
    assert httpx.patch(f"{proc.url}/api/v1/annotations/{ann_id}", json={"status": "resolved"}, headers=member).status_code == 200
    deadline = time.monotonic() + 15
    while httpx.get(f"{proc.url}/api/v1/annotations/{ann_id}/resolutions", headers=member).json()["items"][0]["notification_status"] == "pending":
        assert time.monotonic() < deadline, "the submitter notification never ran"
        time.sleep(0.05)

    page.goto(url)
    pin = page.get_by_role("button", name="Your feedback 1: resolved")
    expect(pin).to_be_visible()
    pin.click()
    card = page.get_by_role("dialog", name="Your feedback")
    expect(card).to_contain_text("Status: resolved")
    expect(card).to_contain_text("Fixed in the next release")
    expect(card).to_contain_text("Handler wired")  # the system's notification reply
    page.locator("h1").click()  # back on the page, Esc still closes the card
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()
    # Another browser (its own key) sees no pins: nobody lists anyone else's.
    other = context.browser.new_context()
    try:
        p2 = other.new_page()
        p2.goto(url)
        expect(p2.get_by_role("button", name="Feedback", exact=True)).to_be_visible()
        expect(p2.locator(".pin")).to_have_count(0)
    finally:
        other.close()


def test_an_origin_not_allowed_is_refused_by_cors(page, served, host_site):
    proc, creds = served  # host_site's origin is NOT added
    page.goto(host_page(host_site, proc, creds))
    expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()  # the script itself loads anywhere
    # The visitor is told why (not "when the server can be reached": it can), and the words are kept.
    form = open_form(page, None)
    form.get_by_label("Comment").fill("From a page the site does not allow yet")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text(
        f"Saved in this browser, not sent: the feedback server does not take feedback from {host_site.url} yet. "
        "It is sent once the site's owner allows this address.")
    api = f"{proc.url}/api/widget/sites/{creds['site_id']}/annotations"
    attempt = """async ([api, token]) => {
        const out = [];
        for (const type of ['application/json', 'text/plain']) {
            try {
                const r = await fetch(api, {method: 'POST', headers: {'Content-Type': type, 'X-GF-Widget-Token': token},
                                            body: JSON.stringify({page_url: location.href, body: 'cross-origin'})});
                out.push(r.status);
            } catch (e) { out.push(e.name); }
        }
        return out;
    }"""
    assert page.evaluate(attempt, [api, creds["widget_token"]]) == ["TypeError", "TypeError"]
    assert site_annotations(proc, creds) == []
    # The same page, once its origin is allowed, gets answers it can read (the text/plain body is invalid).
    allow_with_the_cli(proc, creds["site_id"], host_site.url)
    assert page.evaluate(attempt, [api, creds["widget_token"]]) == [201, 422]
    page.evaluate("dispatchEvent(new Event('online'))")  # the queue's next try, now rather than at its backoff's
    bodies = wait_until(lambda: sorted(a["body"] for a in site_annotations(proc, creds)), lambda b: len(b) == 2, what="the queued one")
    assert bodies == ["From a page the site does not allow yet", "cross-origin"]


def test_a_stakeholder_revoked_before_send_still_delivers_the_feedback(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    base = f"{proc.url}/api/widget/sites/{creds['site_id']}/stakeholders"
    sh = httpx.post(base, json={"name": "Stella", "auto_fix_default": "optional_on"}, headers=bearer(creds["member_token"])).json()
    page.goto(host_page(host_site, proc, creds) + f"?gf_stakeholder={sh['token']}")
    form = open_form(page)
    expect(form.get_by_label("Auto-fix")).to_be_checked()
    assert httpx.delete(f"{base}/{sh['token']}", headers=bearer(creds["member_token"])).status_code == 204
    form.get_by_label("Comment").fill("Written while still a stakeholder")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text("Sent. Thank you!")
    (ann,) = site_annotations(proc, creds)
    assert ann["body"] == "Written while still a stakeholder"
    assert ann["submitter"]["type"] == "anonymous" and ann["auto_fix"] is False
    assert page.evaluate(f"localStorage.getItem('gf:{creds['site_id']}:stakeholder')") is None


def test_a_page_without_usable_storage_still_sends(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script("Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); }")
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page)
    form.get_by_label("Comment").fill("Storage is full here")
    assert send(page, form)["body"] == "Storage is full here"
    expect(form.get_by_role("status")).to_have_text("Sent. Thank you!")
    assert [a["body"] for a in site_annotations(proc, creds)] == ["Storage is full here"]


def test_a_review_mode_tag_outside_the_review_page_leaves_the_site_widget_alone(page, served, host_site):
    """A preview build carrying both tags, opened directly (not framed): the visitor's widget still starts."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    review_tag = f'<script src="{proc.url}/widget.js" data-mode="review"></script>'  # sync: it runs first
    page.goto(host_site.write("both.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</head>", review_tag + "</head>")))
    expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()


# -- what loads when: the loader holds the page's load for nothing but itself ----------------------------


def test_the_app_is_fetched_after_the_page_has_loaded_and_the_loader_keeps_what_came_before(page, served, host_site):
    """A page whose load waits on a slow image: the loader runs, cleans the address bar and records the page's
    errors, but the app is not requested until the load event is over; then it has all of it."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    sh = httpx.post(f"{proc.url}/api/widget/sites/{creds['site_id']}/stakeholders",
                    json={"name": "Stella", "auto_fix_default": "optional_on"}, headers=bearer(creds["member_token"])).json()
    (host_site.root / "slow.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    slow = host_site.gate("slow.svg")
    url = host_page(host_site, proc, creds).replace("index.html", "slow.html")
    host_site.write("slow.html", (host_site.root / "index.html").read_text().replace("<main>", '<main><img src="slow.svg" alt="">'))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    page.goto(f"{url}?gf_stakeholder={sh['token']}", wait_until="commit")
    page.wait_for_function("window.__gfWidget")  # the loader has run; the image is still held
    assert page.evaluate("document.readyState") != "complete"
    assert "gf_stakeholder" not in page.evaluate("location.href")  # out of the address bar before the load
    with page.expect_response(lambda r: r.url.endswith("/missing.json")):
        page.evaluate("console.error('cart failed to boot'); fetch('/missing.json')")
    assert any(u.endswith("/widget.js") for u in requested)
    assert not any("/widget/app." in u for u in requested)  # nothing but the loader before the load event

    slow.set()
    expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()
    started, load_end = page.evaluate("""() => [performance.getEntriesByType('resource').find(e => e.name.includes('/widget/app.')).startTime,
                                                performance.getEntriesByType('navigation')[0].loadEventEnd]""")
    assert load_end > 0 and started >= load_end
    form = open_form(page, None)
    expect(form.get_by_label("Auto-fix")).to_be_checked()  # the stakeholder the loader took from the URL
    form.get_by_label("Comment").fill("The cart is empty")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["submitter"]["type"] == "stakeholder"
    assert any("cart failed to boot" in e["message"] for e in ann["capture"]["console"])
    assert any(e["url"].endswith("/missing.json") and e["status"] == 404 for e in ann["capture"]["network"])


def test_gf_feedback_opens_the_picker_right_after_the_load(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds) + "?gf_feedback")
    expect(page.get_by_role("toolbar", name="Pick an element")).to_be_visible()
    expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()
    page.locator("#buy").click(force=True)
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_visible()


def test_a_submission_queued_on_an_earlier_visit_is_sent_once_when_the_app_next_loads(context, served_alone, host_site):
    proc, creds = served_alone
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    posts: list = []
    context.on("request", lambda r: posts.append(r) if r.url.endswith("/annotations") and r.method == "POST" else None)
    first = context.new_page()
    first.goto(url)
    form = open_form(first, "#buy")
    form.get_by_label("Comment").fill("Written on the train")
    proc.stop()
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_contain_text("Saved in this browser", timeout=15_000)
    first.close()  # its retries stop with it: only the next visit can deliver
    tried = len(posts)
    restarted = ServerProcess(proc.data_dir, port=proc.port)
    try:
        second = context.new_page()
        with second.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
            second.goto(url)
        assert resp.value.status == 201
        assert second.evaluate(f"localStorage.getItem('gf:{creds['site_id']}:outbox')") == "[]"
        # Sent by the app after this page's load, with the key chosen at submit on the first visit.
        # Its resource timing entry is added once the answer has been read, a moment after the response event.
        sent = second.wait_for_function("performance.getEntriesByType('resource').find(e => e.name.endsWith('/annotations'))")
        sent_at = sent.evaluate("e => e.startTime")
        load_end = second.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        assert sent_at >= load_end > 0
        assert tried >= 1 and len(posts) == tried + 1 and len({r.headers["idempotency-key"] for r in posts}) == 1
        with second.expect_response(lambda r: "/mine" in r.url):
            second.reload()
        assert [a["body"] for a in site_annotations(restarted, creds)] == ["Written on the train"]
        assert len(posts) == tried + 1  # the reload sent nothing again
    finally:
        restarted.stop()


# -- refusals, the keyboard, and pages that fight the widget -------------------------------------------

# What has the keyboard focus inside the widget's shadow root ("" when the focus is elsewhere).
FOCUSED = """() => { const host = document.querySelector('[data-gf-widget]'), a = host.shadowRoot.activeElement;
    if (document.activeElement !== host || !a) return '';
    return a.dataset.f || (a.matches('[role=dialog]') ? 'dialog:' + a.getAttribute('aria-label') : a.textContent.trim()); }"""


def posts_to(page) -> list:
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/annotations") and r.method == "POST" else None)
    return posts



def test_a_rate_limited_submission_waits_out_the_retry_after(page, served, host_site):
    """A 429 with Retry-After (the server's limits, README "Limits"): the queue waits that long, not its own 1 s
    doubling, which would only spend the visitor's next tries on the same limit."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    limited = []

    def once(route) -> None:  # as the server answers it, CORS headers included
        limited.append(route.request.headers["idempotency-key"])
        route.fulfill(status=429, content_type="application/json", body='{"detail": "Too many submissions"}',
                      headers={"Retry-After": "60", "Access-Control-Allow-Origin": host_site.url,
                               "Access-Control-Expose-Headers": "Retry-After, Idempotent-Replayed"})

    # Counted in the page as each try starts (the fetch the loader keeps for the widget): a count kept by
    # the route would trail the page's timers.
    page.add_init_script("""const f = window.fetch; window.tries = [];
        window.fetch = function (url, init) { if (init && init.method === 'POST') tries.push(init.headers['Idempotency-Key']);
            return f.apply(this, arguments); };""")
    page.clock.install()
    page.route("**/annotations", once, times=1)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Sent once the limit allows")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text("Saved in this browser: the server is busy, it will be sent in 60 s.")
    page.clock.run_for(55_000)
    assert page.evaluate("tries.length") == 1
    with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
        page.clock.run_for(6_000)
    assert resp.value.status == 201
    assert page.evaluate("tries") == limited * 2  # the same key: stored once
    assert [a["body"] for a in site_annotations(proc, creds)] == ["Sent once the limit allows"]

def test_a_submission_the_server_says_was_already_applied_is_delivered_not_tried_for_ever(page, served, host_site):
    """A server that stored a submission and stopped before keeping its answer answers every later try under that key
    with 409 "already applied" (README, Idempotency-Key). The widget took any 409 for a busy server and tried again
    for ever, the visitor told it would be sent. Now it is delivered, and nothing is sent again."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    keys: list[str] = []

    def lost_answer(route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        stored = route.fetch() if len(keys) == 1 else None  # the first is stored for real; its answer never arrives
        ann_id = stored.json()["id"] if stored else "stored-before"
        route.fulfill(status=409, content_type="application/json", headers={"Access-Control-Allow-Origin": host_site.url},
                      body=json.dumps({"detail": "A request with this Idempotency-Key was already applied and is not run again",
                                       "applied": {"action": "annotation.create", "entity_type": "annotation", "entity_id": ann_id},
                                       "idempotency": "applied"}))

    page.route("**/annotations", lost_answer)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Stored, answer lost")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text("Sent. Thank you!")
    assert page.evaluate(f"localStorage.getItem('gf:{creds['site_id']}:outbox')") == "[]"
    assert len(keys) == 1
    assert [a["body"] for a in site_annotations(proc, creds)] == ["Stored, answer lost"]


def test_unsent_words_come_back_after_a_reload_on_the_same_page_until_sent_cancelled_or_emptied(page, served, host_site):
    """Esc kept the words only in the page's memory: a reload or a visit elsewhere lost what the visitor had written."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    first, other = host_page(host_site, proc, creds), host_page(host_site, proc, creds, "other.html")
    page.goto(first)
    form = open_form(page)
    form.get_by_label("Kind").select_option("copy")
    form.get_by_label("Comment").fill("Half a thought about the kettle")
    page.reload()
    form = open_form(page, None)  # another element this time: the words come back, the pick is the new one
    expect(form.get_by_label("Comment")).to_have_value("Half a thought about the kettle")
    expect(form.get_by_label("Kind")).to_have_value("copy")
    page.goto(other)  # another page has words of its own (none)
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("")
    page.goto(first)
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("Half a thought about the kettle")
    form.get_by_label("Comment").fill("")  # emptied: nothing to bring back
    page.reload()
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("")
    form.get_by_label("Comment").fill("Dropped with Cancel")
    form.get_by_role("button", name="Cancel").click()
    page.reload()
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("")
    form.get_by_label("Comment").fill("Sent at last")
    send(page, form)
    expect(form.get_by_role("status")).to_have_text("Sent. Thank you!")
    page.reload()
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("")
    expect(form.get_by_label("Kind")).to_have_value("bug")
    assert [a["body"] for a in site_annotations(proc, creds)] == ["Sent at last"]


def test_a_mistyped_email_is_caught_before_sending_and_never_remembered(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    posts = posts_to(page)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("The kettle price is wrong")
    form.get_by_label("Email (optional)").fill("vera.example.com")
    form.get_by_role("button", name="Send").click()
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Check the email address")
    email = form.get_by_label("Email (optional)")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Comment")).to_have_value("The kettle price is wrong")
    assert posts == [] and page.evaluate(f"localStorage.getItem('gf:{creds['site_id']}:email')") is None
    email.fill("vera@example.com")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["body"] == "The kettle price is wrong" and ann["submitter"]["has_email"] is True
    page.reload()
    expect(open_form(page, None).get_by_label("Email (optional)")).to_have_value("vera@example.com")


def test_a_refused_submission_stays_in_the_form_names_the_field_and_can_be_sent_again(page, served, host_site):
    """The server's permanent refusals (its 422 names a field, its 400 starts with one): the words stay, the
    field is named and focused, the error looks like one, nothing refused is remembered, and Send tries again."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    posts = posts_to(page)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("Checkout button overlaps the price")
    form.get_by_label("Name (optional)").fill("Vera\x00")  # pasted with a NUL: the server refuses it (422)
    # A WebP renamed .png: the browser calls it image/png, the server reads its bytes (400).
    form.get_by_label("Attach or paste a screenshot").set_input_files(
        files=[{"name": "shot.png", "mimeType": "image/png", "buffer": b"RIFF\x10\x00\x00\x00WEBPVP8 "}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
        form.get_by_role("button", name="Send").click()
    assert resp.value.status == 422
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Name:")
    name = form.get_by_label("Name (optional)")
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Comment")).to_have_value("Checkout button overlaps the price")
    expect(form.get_by_role("button", name="Send")).to_be_enabled()
    # An error is red and an alert; "Sent" is green and a status.
    assert alert.evaluate("e => getComputedStyle(e).color") == "rgb(153, 27, 27)"
    stored = f"localStorage.getItem('gf:{creds['site_id']}:name')"
    assert page.evaluate(stored) is None

    name.fill("Vera")
    with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
        form.get_by_role("button", name="Send").click()
    assert resp.value.status == 400
    expect(alert).to_contain_text("Screenshot:")
    expect(form.get_by_label("Attach or paste a screenshot")).to_be_focused()
    expect(form.get_by_text("Attach another picture, or send without one.")).to_be_visible()

    form.get_by_label("Attach or paste a screenshot").set_input_files(
        files=[{"name": "mine.png", "mimeType": "image/png", "buffer": TINY_PNG}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    sent = send(page, form)
    status = form.get_by_role("status")
    expect(status).to_have_text("Sent. Thank you!")
    assert status.evaluate("e => getComputedStyle(e).color") == "rgb(15, 118, 110)"
    expect(alert).to_be_hidden()
    ann = detail(proc, creds, sent["id"])
    assert ann["body"] == "Checkout button overlaps the price" and ann["submitter"]["name"] == "Vera" and ann["screenshot_key"]
    assert [a["id"] for a in site_annotations(proc, creds)] == [sent["id"]]
    # Each corrected submission was a new one with its own key; what the server took is what is remembered.
    assert len(posts) == 3 and len({r.headers["idempotency-key"] for r in posts}) == 3
    assert page.evaluate(stored) == '"Vera"'
    assert page.evaluate(f"localStorage.getItem('gf:{creds['site_id']}:outbox')") == "[]"


def test_a_submission_refused_when_the_server_came_back_returns_to_the_form_on_the_next_visit(context, served_alone, host_site):
    proc, creds = served_alone
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    first = context.new_page()
    first.goto(url)
    form = open_form(first, "#buy")
    form.get_by_label("Comment").fill("Written on the train")
    form.get_by_label("Name (optional)").fill("Vera\x00")
    proc.stop()
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_contain_text("Saved in this browser", timeout=15_000)
    first.close()
    restarted = ServerProcess(proc.data_dir, port=proc.port)
    try:
        second = context.new_page()
        second.goto(url)
        form = second.get_by_role("dialog", name="Send feedback")
        # Behind this alert: the page's load, then the app, its outbox's POST and the 422, all from a server
        # just started; on busy CI cores that outlasted the default 5 s (seen once, with no launcher drawn yet).
        expect(form.get_by_role("alert")).to_contain_text("Name:", timeout=15_000)
        expect(form.get_by_label("Comment")).to_have_value("Written on the train")
        form.get_by_label("Name (optional)").fill("Vera")
        sent = send(second, form)
        ann = detail(restarted, creds, sent["id"])
        assert ann["body"] == "Written on the train" and ann["selector"] == "#buy"
        assert second.evaluate(f"localStorage.getItem('gf:{creds['site_id']}:outbox')") == "[]"
    finally:
        restarted.stop()


def test_escape_tab_and_focus_in_the_form(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.evaluate("document.documentElement.dir = 'rtl'")  # an Arabic or Hebrew site
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    form = open_form(page, None)
    assert page.evaluate(FOCUSED) == "body"  # the comment box
    # The widget's English stays left to right (Send on the right); what the visitor types follows its own script.
    cancel, send_button = (form.get_by_role("button", name=n).bounding_box() for n in ("Cancel", "Send"))
    assert cancel["x"] < send_button["x"]
    expect(form.get_by_label("Comment")).to_have_attribute("dir", "auto")
    form.get_by_label("Comment").fill("Half written")
    for _ in range(12):  # round the dialog's own controls, never into the page behind it
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUSED) not in ("", "Feedback")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) not in ("", "Feedback")
    form.get_by_label("Comment").focus()
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")  # the launcher brings the unsent words back
    expect(form).to_be_visible()
    expect(form.get_by_label("Comment")).to_have_value("Half written")
    expect(form.get_by_label("Comment")).to_be_focused()
    form.get_by_role("button", name="Cancel").click()  # Cancel drops them
    expect(form).to_be_hidden()
    expect(launcher).to_be_focused()
    launcher.click()
    expect(page.get_by_role("toolbar", name="Pick an element")).to_be_visible()


def test_a_long_card_fits_the_phone_screen_and_esc_closes_it(browser, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    ctx = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(host_page(host_site, proc, creds))
        form = open_form(page, "#buy")
        form.get_by_label("Comment").fill(" ".join(["The button does nothing when I tap it."] * 150))  # 5,700 characters
        send(page, form)
        page.reload()
        pin = page.get_by_role("button", name="Your feedback 1: new")
        pin.click()
        card = page.get_by_role("dialog", name="Your feedback")
        expect(card).to_be_visible()
        box = card.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 667 and box["x"] >= 0 and box["x"] + box["width"] <= 375
        close = card.get_by_role("button", name="Close")
        close_box = close.bounding_box()
        assert close_box["y"] >= 0 and close_box["y"] + close_box["height"] <= 667
        assert page.evaluate(FOCUSED) == "dialog:Your feedback"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUSED) == "Close"  # the card's only control, round again
        page.keyboard.press("Escape")
        expect(card).to_be_hidden()
        expect(pin).to_be_focused()
        pin.click()
        card.get_by_role("button", name="Close").click()
        expect(card).to_be_hidden()
    finally:
        ctx.close()


def test_keyboard_picking_picks_the_focused_element(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.evaluate("document.querySelector('#buy').addEventListener('click', () => { document.body.dataset.bought = '1'; })")
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    launcher.focus()
    page.keyboard.press("Enter")
    bar = page.get_by_role("toolbar", name="Pick an element")
    expect(bar).to_have_accessible_description("Click the element your feedback is about, or Tab and arrow keys to it, then Enter. Esc cancels.")
    # The keyboard is in the toolbar, so a screen reader says picking has begun and how.
    expect(bar.get_by_role("button", name="Whole page")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "buy":
            break
    assert page.evaluate("document.activeElement.id") == "buy"
    expect(page.locator(".outline")).to_be_visible()  # the focused element is outlined
    page.keyboard.press("Enter")
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_contain_text("About: button “Add to cart”")
    assert page.evaluate("document.body.dataset.bought") is None  # picked, not pressed
    form.get_by_label("Comment").fill("Picked with the keyboard")
    assert detail(proc, creds, send(page, form)["id"])["selector"] == "#buy"


def test_a_hostile_page_neither_moves_the_widget_nor_spoils_what_it_sends(page, served, host_site):
    """A transformed, filtered, contained body (the widget stays on the viewport), and Prototype.js's (before 1.7)
    Array.prototype.toJSON, which makes JSON.stringify write arrays as strings."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    prototype_16 = ("<script>Array.prototype.toJSON = function () { var r = []; for (var i = 0; i < this.length; i++) "
                    "r.push(JSON.stringify(this[i])); return '[' + r.join(', ') + ']'; };</script>")
    # A web component: the screenshot's copy goes into its shadow root, whose children have no parent element.
    component = ("<x-card></x-card><script>customElements.define('x-card', class extends HTMLElement { connectedCallback() "
                 "{ this.attachShadow({mode: 'open'}).innerHTML = '<p>In a shadow root</p>'; } });</script>")
    page.goto(host_site.write("transform.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
        .replace("</style>", f"body {{ transform: translateZ(0); filter: saturate(1); contain: paint; }}</style>{prototype_16}")
        .replace("</main>", f'</main>{component}<div style="height: 3000px"></div>')))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert 1280 - 200 < box["x"] + box["width"] <= 1280 and 800 - 100 < box["y"] + box["height"] <= 800
    page.locator("#break").click()  # an entry in the console ring: an array in what is sent
    form = open_form(page, None)
    f = form.bounding_box()
    assert f["y"] >= 0 and f["y"] + f["height"] <= 800
    expect(form.get_by_role("img", name="Screenshot")).to_be_visible()
    form.get_by_label("Comment").fill("Sent from a page with Prototype.js")
    capture = detail(proc, creds, send(page, form)["id"])["capture"]
    assert "cart total is NaN" in capture["console"][0]["message"]
    assert page.evaluate("JSON.stringify([1])") == '"[1]"'  # the page's own JSON is left as the page made it


def test_a_strict_content_security_policy_still_gets_a_styled_widget(page, served, host_site):
    """A policy that allows the widget's server for scripts and requests but no inline styles (no
    style-src 'unsafe-inline'): a <style> in the shadow root would be blocked, and the widget drawn
    unstyled over the page. It enforces Trusted Types too: a script's URL and HTML go through a policy."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    policy = (f"default-src 'self'; script-src 'self' {proc.url}; connect-src 'self' {proc.url}; img-src 'self' data:; "
              "require-trusted-types-for 'script'")
    page.goto(host_site.write("csp.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace('<meta charset="utf-8">', f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{policy}">')))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert 1280 - 200 < box["x"] + box["width"] <= 1280 and 800 - 100 < box["y"] + box["height"] <= 800
    form = open_form(page, None)
    assert form.bounding_box()["x"] > 640
    expect(form.get_by_role("img", name="Screenshot")).to_be_visible()  # img-src data: is all the capture needs
    form.get_by_label("Comment").fill("Sent from a page with a strict policy")
    send(page, form)
    # The widget's policy is no way around the page's: it passes no other script, and its markup only once.
    laundered = page.evaluate("""() => [() => __gfWidget.tt.createHTML('<img src=x onerror=alert(1)>'),
                                        () => __gfWidget.tt.createScriptURL('https://evil.example/x.js')]
        .map((f) => { try { f(); return 'passed'; } catch (e) { return 'refused'; } })""")
    assert laundered == ["refused", "refused"]
    # A policy without the server in connect-src: the visitor is told that is why, not that the server is away.
    page.goto(host_site.write("csp-no-connect.html", (host_site.root / "csp.html").read_text().replace(f"connect-src 'self' {proc.url}", "connect-src 'self'")))
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Kept, not sent")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text(
        f"Saved in this browser, not sent: this page's Content-Security-Policy does not allow the feedback server ({proc.url}). "
        "The site's owner can allow it.")


def test_the_launcher_stays_above_a_late_max_z_index_element(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_be_visible()
    page.evaluate("""() => { const d = document.createElement('div'); d.id = 'chat'; d.textContent = 'Chat with us';
        d.style.cssText = 'position: fixed; right: 0; bottom: 0; width: 400px; height: 200px; background: #0a7; z-index: 2147483647';
        document.body.appendChild(d); }""")
    box = launcher.bounding_box()
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).hasAttribute('data-gf-widget')",
                           [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert on_top
    launcher.click()
    bar = page.get_by_role("toolbar", name="Pick an element")
    expect(bar).to_be_visible()
    # The heading runs under the bar at the top of the page: a click on the bar's words picks it.
    words = bar.get_by_text("Click the element", exact=False).bounding_box()
    heading = page.locator("h1").bounding_box()
    x, y = words["x"] + words["width"] / 2, words["y"] + words["height"] / 2
    assert heading["x"] <= x <= heading["x"] + heading["width"] and heading["y"] <= y <= heading["y"] + heading["height"]
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expect(page.get_by_role("dialog", name="Send feedback").locator(".about")).to_have_text("About: heading “Acme shop”")


def test_an_iframe_is_picked_as_an_element_and_its_content_gets_no_click(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    host_site.write("inner.html", '<!doctype html><button id="inner" onclick="document.body.dataset.clicked=1">Inner button</button>')
    page.goto(host_site.write("framed.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
        .replace("</main>", '</main><iframe id="map" src="inner.html" style="width: 500px; height: 200px"></iframe>')))
    inner = page.frame_locator("#map").locator("#inner")
    expect(inner).to_be_visible()
    page.get_by_role("button", name="Feedback", exact=True).click()
    inner.hover(force=True)
    outline = page.locator(".outline")
    expect(outline).to_be_visible()
    assert outline.bounding_box()["width"] >= 500  # the iframe's box, not a guess inside it
    inner.click(force=True)
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_contain_text("About: frame")
    assert page.frame_locator("#map").locator("body").evaluate("b => b.dataset.clicked") is None


def test_the_picker_and_the_form_at_phone_width(browser, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    ctx = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(host_page(host_site, proc, creds))
        page.get_by_role("button", name="Feedback", exact=True).tap()
        bar = page.get_by_role("toolbar", name="Pick an element")
        expect(bar).to_be_visible()
        assert bar.bounding_box()["height"] <= 44  # one line: most of the page stays pickable
        expect(bar.get_by_text("Tap an element.")).to_be_visible()
        expect(bar.get_by_text("Esc cancels", exact=False)).to_be_hidden()  # no Esc key on a phone
        bar.get_by_role("button", name="Whole page").tap()
        form = page.get_by_role("dialog", name="Send feedback")
        expect(form).to_be_visible()
        panel = form.bounding_box()
        for name in ("Send", "Cancel"):  # visible without scrolling the form
            b = form.get_by_role("button", name=name).bounding_box()
            assert panel["y"] <= b["y"] and b["y"] + b["height"] <= min(panel["y"] + panel["height"], 667), name
    finally:
        ctx.close()


@pytest.mark.parametrize("pick", ["h1", "#buy"])
def test_two_feedbacks_on_one_element_each_get_a_pin_that_shows_and_opens_its_own(page, served, host_site, pick):
    """QA: a visitor who sent two feedbacks about one element came back to one pin: the first was drawn exactly under
    the second, its number hidden and its card out of reach. (The heading reaches the viewport's right edge, the
    button does not: the pins fan out inward both ways.)"""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    send_each(page, [(pick, "The first about it"), (pick, "The second about it")])
    page.reload()
    pins = page.locator(".pin")
    expect(pins).to_have_count(2)
    width = page.evaluate("document.documentElement.clientWidth")
    first, second = (pins.nth(i).bounding_box() for i in range(2))
    assert abs(first["y"] - second["y"]) < 1  # side by side, on the element
    assert abs(first["x"] - second["x"]) >= 20, (first, second)  # each number shows
    for b in (first, second):
        assert b["x"] >= 0 and b["x"] + b["width"] <= width
    # A press on each pin's middle opens that pin's own card.
    card = page.get_by_role("dialog", name="Your feedback")
    for b, body in ((first, "The first about it"), (second, "The second about it")):
        page.mouse.click(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
        expect(card).to_contain_text(body)
        card.get_by_role("button", name="Close").click()
        expect(card).to_be_hidden()


def test_pins_keep_off_the_logo_and_inside_the_viewport(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    host_page(host_site, proc, creds)
    page.goto(host_site.write("wide.html", (host_site.root / "index.html").read_text()
                              .replace("</main>", '</main><div id="wide">Free delivery over € 50</div><div style="height: 3000px"></div>')))
    send_each(page, [(None, "About the whole page"), ("#wide", "About the full-width banner")])
    page.reload()
    pins = page.locator(".pin")
    expect(pins).to_have_count(2)
    width = page.evaluate("document.documentElement.clientWidth")
    logo = page.locator("h1").bounding_box()
    launcher = page.get_by_role("button", name="Feedback", exact=True).bounding_box()
    whole, wide = (pins.nth(i).bounding_box() for i in range(2))
    for b in (whole, wide):
        assert b["x"] >= 0 and b["x"] + b["width"] <= width
    # The whole page's pin sits beside the launcher, not over the logo in the page's corner.
    assert whole["x"] > logo["x"] + logo["width"] or whole["y"] > logo["y"] + logo["height"]
    assert abs((whole["y"] + whole["height"] / 2) - (launcher["y"] + launcher["height"] / 2)) < 2
    assert whole["x"] + whole["width"] < launcher["x"]
    # Scrolled past, the banner takes its pin along instead of leaving it on the page's top edge.
    page.mouse.wheel(0, 2000)
    expect(pins.nth(1)).to_be_hidden()
    expect(pins.nth(0)).to_be_visible()
    page.mouse.wheel(0, -2000)
    expect(pins.nth(1)).to_be_visible()
    # The banner not drawn now (display: none, as a closed menu's item): its pin stays where the banner was.
    at = pins.nth(1).bounding_box()
    page.evaluate("document.querySelector('#wide').style.display = 'none'; dispatchEvent(new Event('resize'))")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")  # pins placed again
    moved = pins.nth(1).bounding_box()
    assert abs(moved["x"] - at["x"]) < 1 and abs(moved["y"] - at["y"]) < 1


def test_the_screenshot_is_what_the_visitor_sees_with_fixed_and_stuck_elements(page, served, host_site):
    """A scrolled page with a bar fixed to the screen's bottom, a header stuck to its top, the body's margin
    collapsing with its first child's, and `html { height: 100%; overflow-x: hidden }`: the picture matches the
    screen, pixel for pixel left of the widget's form.
    Fixed and stuck elements were drawn where they sit in the page's flow (on its first screen, above the
    picture), and the collapsed margins moved the rest."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    stripes = "".join(f'<div style="height: 100px; background: {("rgb(250, 200, 0)", "rgb(0, 120, 250)")[n % 2]}">{n}</div>' for n in range(60))
    page_html = (HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                 .replace("margin: 0;", "margin: 8px;")
                 # A common guard against sideways scrolling, which clipped the copy to the page's first screen.
                 .replace("<style>", "<style>html { height: 100%; overflow-x: hidden } ")
                 .replace("<header>", '<div style="margin-top: 30px; height: 10px; background: #000"></div>'
                          '<div style="position: fixed; left: 0; right: 0; bottom: 0; height: 50px; background: rgb(0, 0, 200)"></div>'
                          '<header style="position: sticky; top: 0; height: 80px; background: rgb(200, 0, 200); z-index: 1">')
                 .replace("</main>", f"</main>{stripes}"))
    page.goto(host_site.write("fixed.html", page_html))
    page.evaluate("scrollTo(0, 1337)")
    page.wait_for_function("scrollY === 1337")
    form = open_form(page, None)
    seen, drawn = screen_and_picture(page, form)
    assert drawn.size == (1280, 800)
    assert drawn.getpixel((20, 40)) == (200, 0, 200) and drawn.getpixel((20, 775)) == (0, 0, 200)
    def rgb(im: Image.Image, x: int, y: int) -> tuple[int, int, int]:
        r, g, b = cast("tuple[int, int, int]", im.getpixel((x, y)))
        return r, g, b

    apart = [(x, y) for x in range(5, 500, 23) for y in range(0, 800, 5)
             if max(abs(a - b) for a, b in zip(rgb(seen, x, y), rgb(drawn, x, y), strict=True)) > 40]
    assert len(apart) < 40, apart[:20]  # of 3,520: the text's antialiasing differs


@pytest.mark.parametrize("broken", [
    "delete window.fetch",  # an old embedded browser, or a page that took it away
    "Object.defineProperty(window, 'fetch', {get() { throw new Error('fetch is not for you'); }, configurable: true})",
    "window.fetch = function () { throw new TypeError('a broken polyfill'); }",
    "window.fetch = function () { return Promise.reject(new TypeError('a polyfill that never sends')); }",
])
def test_a_page_without_a_working_fetch_still_gets_the_widget(page, served, host_site, broken):
    """The loader took `window.fetch.bind(window)` as it started: a page without fetch stopped it with a TypeError,
    and with a broken one every submission waited in the outbox for good."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(broken)  # before any script of the page, so before the loader
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Sent without fetch")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text("Sent. Thank you!")
    assert [a["body"] for a in site_annotations(proc, creds)] == ["Sent without fetch"]
    assert errors == []
    if broken.startswith("delete"):  # the loader's failed-request wrapper did not give the page a fetch it lacked
        assert page.evaluate("typeof window.fetch") == "undefined"


def test_escape_closes_the_form_wherever_the_focus_is_but_not_a_page_field_or_the_pages_own_use(page, served, host_site):
    """Esc closed the form only while the focus was in it: a visitor who had clicked the page pressed it and nothing happened."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    menu = ("<input id='search' aria-label='Search'><script>addEventListener('keydown', e => {"
            " if (e.key === 'Escape' && document.body.dataset.menu === 'open') { document.body.dataset.menu = 'closed'; e.preventDefault(); } });"
            "</script></main>")
    page.goto(host_site.write("esc.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</main>", menu)))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Half written")
    page.locator("h1").click()  # the visitor goes back to the page; the form stays open beside it
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()
    assert page.evaluate("document.activeElement === document.body")  # the focus is not pulled anywhere
    launcher.click()  # the words were kept, as with Esc inside the form
    expect(form.get_by_label("Comment")).to_have_value("Half written")
    # Typing in the page's own field, Esc is the field's.
    page.locator("#search").fill("kett")
    page.keyboard.press("Escape")
    expect(form).to_be_visible()
    # A page that uses Esc itself (its menu closes) keeps that press; the next one closes the form.
    page.evaluate("document.body.dataset.menu = 'open'")
    page.locator("h1").click()
    page.keyboard.press("Escape")
    assert page.evaluate("document.body.dataset.menu") == "closed"
    expect(form).to_be_visible()
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()


def test_the_widget_learns_from_the_server_whether_its_origin_is_allowed(page, served, host_site):
    """CORS hides a refusal, so the widget guessed: any failed send while the server answered a no-cors request was
    'this address is not allowed yet', even from an allowed origin whose request was lost on the way."""
    proc, creds = served
    page.goto(host_page(host_site, proc, creds))  # the origin is not allowed yet
    ask = "url => fetch(url).then(r => r.json())"
    url = f"{proc.url}/api/widget/sites/{creds['site_id']}/origin"
    assert page.evaluate(ask, url) == {"origin": host_site.url, "allowed": False}
    # Nothing about which sites exist, and only the one yes or no: no token, no annotations.
    assert httpx.get(f"{proc.url}/api/widget/sites/no-such-site/origin", headers={"Origin": host_site.url}).json()["allowed"] is False
    assert httpx.get(url).json() == {"origin": None, "allowed": False}
    allow(proc, creds["site_id"], host_site.url)
    assert page.evaluate(ask, url) == {"origin": host_site.url, "allowed": True}
    # Allowed, and the submission lost on the way (as behind a proxy answering without CORS headers): not blamed on the origin.
    page.route("**/annotations", lambda route: route.abort())
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Lost on the way")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("status")).to_have_text("Saved in this browser: it will be sent when the server can be reached.")


def test_the_origin_check_is_rate_limited_per_ip_and_its_429_is_no_verdict(page, tmp_path, host_site):
    """…/origin was answered ahead of the rate limits: a store read per request that no bucket counted. Counted now in
    the per-IP bucket, its 429 readable by any page, which the widget takes for "don't know", not "not allowed"."""
    data = tmp_path / "served"
    data.mkdir()
    bootstrap(data)
    creds = fresh_credentials(data)
    proc = ServerProcess(data, "--ip-limit", "3", "--limit-loopback")  # the browser and this test are loopback clients
    try:
        url = f"{proc.url}/api/widget/sites/{creds['site_id']}/origin"
        page.goto(host_page(host_site, proc, creds))  # its origin is not allowed
        form = open_form(page, None)  # /config from this origin is refused by CORS, ahead of the limits: not counted
        for _ in range(3):
            assert httpx.get(url, headers={"Origin": host_site.url}).json()["allowed"] is False
        limited = httpx.get(url, headers={"Origin": host_site.url})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["access-control-allow-origin"] == "*" and "per-IP" in limited.json()["detail"]
        assert page.evaluate("url => fetch(url).then(r => r.status)", url) == 429  # readable from the page
        form.get_by_label("Comment").fill("Sent while the origin check is limited")
        form.get_by_role("button", name="Send").click()
        expect(form.get_by_role("status")).to_have_text("Saved in this browser: it will be sent when the server can be reached.")
    finally:
        proc.stop()


# Counts the elements html-to-image copies during a capture (it copies each with cloneNode), by class, and says how
# the capture ended (gfEnded: "drawn" or "stopped").
def screen_and_picture(page, form, width: int = 500, mode: str = "RGB", timeout: float = 15_000) -> tuple[Any, Any]:
    """Once the form shows its screenshot: the screen's top left ``width`` x 800 px, and the whole picture."""
    from PIL import Image

    shot = form.get_by_role("img", name="Screenshot")
    expect(shot).to_be_visible(timeout=timeout)
    seen = Image.open(io.BytesIO(page.screenshot(clip={"x": 0, "y": 0, "width": width, "height": 800}))).convert(mode)
    drawn = Image.open(io.BytesIO(base64.b64decode(shot.get_attribute("src").split(",", 1)[1]))).convert(mode)
    return seen, drawn


def capture_deep(page, host_site, served, name: str, after_main: str, width: int = 500) -> tuple[Any, Any, int]:
    """The host page with ``after_main`` after its <main>, scrolled 80 % deep, and the form opened on the whole page: the
    screen, the widget's picture of it, and how many elements of class ``far`` the copy took (COUNT_CLONES)."""
    proc, creds = served
    page.goto(host_site.write(name, HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</main>", f"</main>{after_main}")))
    page.evaluate("scrollTo(0, Math.round((document.documentElement.scrollHeight - innerHeight) * 0.8))")
    seen, drawn = screen_and_picture(page, open_form(page, None), width=width, timeout=60_000)
    return seen, drawn, page.evaluate("window.gfCloned.far")


def colour_edges(im: Any, x: int = 300) -> list[int]:
    """Where the colour changes down column ``x`` (by default right of the rows' words): the edges of stripes and rows."""
    column = [im.getpixel((x, y)) for y in range(800)]
    return [y for y in range(1, 800) if column[y] != column[y - 1]]


# Also lifts the form's 8 s limit on a capture (to 2 minutes): these tests compare a copy of everything with the
# widget's picture, and under load (xdist workers on 2 cores) copying everything ran past the limit, so no picture came.
COUNT_CLONES = """(() => { let lib; const later = window.setTimeout;
  window.setTimeout = function (f, ms, ...a) { return later.call(this, f, ms === 8000 ? 120000 : ms, ...a); };
  Object.defineProperty(window, 'htmlToImage', { configurable: true, set(v) { lib = v; }, get() {
    if (lib && lib.toCanvas && !lib.counted) {
      const toCanvas = lib.toCanvas; lib.counted = true;
      lib.toCanvas = async (...args) => {
        const clone = Element.prototype.cloneNode; window.gfCloned = {};
        Element.prototype.cloneNode = function (...a) {
          for (const c of this.classList) window.gfCloned[c] = (window.gfCloned[c] || 0) + 1;
          return clone.apply(this, a);
        };
        try { const canvas = await toCanvas(...args); window.gfEnded = 'drawn'; return canvas; }
        catch (e) { window.gfEnded = 'stopped'; throw e; } finally { Element.prototype.cloneNode = clone; }
      };
    }
    return lib; } }); })();"""


def test_a_capture_deep_in_a_long_page_copies_little_of_what_lies_above_and_still_matches_the_screen(page, served, host_site):
    """The copy of <html> was lifted by a negative margin with everything above the viewport still in it, each element
    copied with its computed styles on the page's thread: 3,000 paragraphs scrolled 90 % deep took 12 s. Runs of blocks
    wholly above now stand in as one box of their height; what reaches into view from above (an absolutely placed child),
    a stuck header and a fixed bar are drawn where the visitor sees them."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)")
    stripes = "".join(f'<div class="far" style="height: {30 + n % 7 * 10}px; margin: {n % 3 * 6}px 0; background: {colours[n % 3]}"></div>'
                      for n in range(1500))
    page_html = (HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                 .replace("margin: 0;", "margin: 8px;")
                 .replace("<header>", '<div style="position: fixed; left: 0; right: 0; bottom: 0; height: 50px; background: rgb(0, 0, 200)"></div>'
                          '<header style="position: sticky; top: 0; height: 80px; background: rgb(200, 0, 200); z-index: 1">')
                 .replace("</main>", '</main><div class="far" id="reach" style="height: 20px; position: relative">'
                          '<div style="position: absolute; left: 40px; width: 200px; height: 60px; background: rgb(0, 200, 0)"></div></div>'
                          f'<ol class="far">{"<li>counted</li>" * 20}</ol>{stripes}'))
    page.add_init_script(COUNT_CLONES)
    page.goto(host_site.write("long.html", page_html))
    page.evaluate("scrollTo(0, Math.round((document.documentElement.scrollHeight - innerHeight) * 0.9))")
    # The green child of a block far above reaches 300 px into the viewport.
    page.evaluate("""() => { const r = document.getElementById('reach'), y = r.getBoundingClientRect().top;
        r.firstElementChild.style.top = `${300 - y}px`; }""")
    form = open_form(page, None)
    shot = form.get_by_role("img", name="Screenshot")
    expect(shot).to_be_visible(timeout=30_000)
    assert page.evaluate("window.gfCloned.far") < 40  # of the 1,500 stripes, 1,300 above the viewport
    seen = Image.open(io.BytesIO(page.screenshot(clip={"x": 0, "y": 0, "width": 500, "height": 800}))).convert("RGB")
    drawn = Image.open(io.BytesIO(base64.b64decode(shot.get_attribute("src").split(",", 1)[1]))).convert("RGB")
    assert drawn.getpixel((100, 330)) == (0, 200, 0)
    assert drawn.getpixel((20, 40)) == (200, 0, 200) and drawn.getpixel((20, 775)) == (0, 0, 200)

    def rgb(im: Image.Image, x: int, y: int) -> tuple[int, int, int]:
        r, g, b = cast("tuple[int, int, int]", im.getpixel((x, y)))
        return r, g, b

    apart = [(x, y) for x in range(5, 500, 23) for y in range(0, 800, 5)
             if max(abs(a - b) for a, b in zip(rgb(seen, x, y), rgb(drawn, x, y), strict=True)) > 40]
    assert len(apart) < 20, apart[:20]  # of 3,520: the header's text is antialiased differently


def test_a_capture_deep_in_long_lists_copies_little_and_keeps_their_numbers(page, served, host_site):
    """List items were always copied (their numbers count them), so a capture deep in a long <ul> or <ol> copied every
    item above the viewport. A plain list's run of items above now stands in as one box too, and the item kept after
    it gets its number back: the <ol>'s markers and a counter(list-item) in view read as on the screen."""
    from PIL import Image, ImageChops

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)

    def capture(name: str, first: str) -> tuple[Image.Image, Image.Image, int]:
        """The page seen and the widget's picture of it, 90 % deep; ``first``: the first items' attributes."""
        bullets = "".join(f'<li class="far"{first if n == 0 else ""}>Bulleted {n}</li>' for n in range(400))
        numbered = "".join(f'<li class="far"{first.replace("1", "3") if n == 0 else ""}>Numbered item {n}</li>' for n in range(400))
        html = (HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                .replace("</style>", "ol.far li::after { content: ' #' counter(list-item); } li.far { line-height: 24px; }</style>")
                .replace("</main>", f'</main><ul style="list-style: none">{bullets}</ul><ol class="far" start="3">{numbered}</ol>'))
        page.goto(host_site.write(name, html))
        page.evaluate("scrollTo(0, Math.round((document.documentElement.scrollHeight - innerHeight) * 0.9))")
        form = open_form(page, None)
        seen, drawn = screen_and_picture(page, form, width=400, mode="L", timeout=60_000)
        return seen, drawn.crop((0, 0, 400, 800)), page.evaluate("window.gfCloned.far")

    # A `value` on the first items, the number they have anyway, makes the lists not plain: copied whole, as before.
    _, whole, copied_whole = capture("lists-whole.html", ' value="1"')
    seen, drawn, copied = capture("lists.html", "")
    assert copied_whole > 650 and copied < 80  # of 800 items, about 720 above the viewport
    assert drawn.tobytes() == whole.tobytes()  # the same picture, numbers included, as from copying every item
    # And that is the screen (its text is rasterised a little differently: compared in 8 x 8 px cells).
    cells = ImageChops.difference(seen.resize((50, 100), Image.Resampling.BOX), drawn.resize((50, 100), Image.Resampling.BOX))
    assert max(cells.tobytes()) < 40


def test_a_capture_deep_in_a_flex_feed_copies_little_and_draws_the_same_picture(page, served, host_site):
    """A feed (a flex column of rows) was copied whole, every row above the viewport and below it: 300 rows took 4 to 6 s
    and a long one froze the page. Its rows above now stand in as one box (its gap kept on both sides), those below
    go, and the kept rows are copied with no flex: the rows here grow (`flex: 1`), which in the copy, its column as
    tall as on the page and fewer rows in it, would have spread them over the space of those left out."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)")

    def capture(name: str, wrap: str) -> tuple[Image.Image, Image.Image, int]:
        """The page seen and the widget's picture of it, 80 % deep. ``wrap``: the column's flex-wrap; `wrap` lays out
        the same (a column of auto height is one line) but is not taken for a feed, so it is copied whole."""
        rows = "".join(f'<div class="far" style="flex: 1 0 auto; height: {20 + n % 5 * 9}px; margin: {n % 3 * 4}px 0 {n % 2 * 3}px;'
                       f' background: {colours[n % 3]}"><span>Row {n}</span></div>' for n in range(240))
        feed = f'<div style="display: flex; flex-direction: column; flex-wrap: {wrap}; gap: 7px">{rows}</div><p>After the feed</p>'
        return capture_deep(page, host_site, served, name, feed)

    _, whole, copied_whole = capture("feed-whole.html", "wrap")
    seen, drawn, copied = capture("feed.html", "nowrap")
    assert copied_whole == 240 and copied < 40, (copied_whole, copied)  # about 25 rows in view
    assert drawn.tobytes() == whole.tobytes()  # the same picture as from copying every row

    assert colour_edges(drawn) == colour_edges(seen) and len(colour_edges(seen)) >= 20


# Each: the container's style, with {} for what makes it taken for plain cards or not (both lay the cards out alike),
# and the cards' own.
CARD_LAYOUTS = {
    # `row dense` places these cards (none spans) as `row` does, but is not a grid placed by its flow alone.
    "grid": ("display: grid; grid-template-columns: repeat(3, 1fr); grid-auto-flow: {}; align-items: start", "row", "row dense", ""),
    # The lines of a row of auto height have no room between them to share out, whatever `align-content` says.
    # (`normal` stretches lines into room a copy's row would have once its last lines are left out: packed in the copy.)
    "wrap": ("display: flex; flex-wrap: wrap; align-items: flex-start; align-content: {}", "normal", "space-between", "width: 32%; "),
}


@pytest.mark.parametrize("layout", list(CARD_LAYOUTS))
def test_a_capture_deep_in_a_grid_of_cards_copies_little_and_draws_the_same_picture(page, served, host_site, layout):
    """A grid of cards (a product list), or cards in a wrapping flex row, were copied whole, however long. Their rows
    wholly above now stand in as one item across the whole row, as tall as those rows, and their rows wholly below go:
    each kept card keeps its place."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)", "rgb(0, 160, 60)")
    style, plain, whole_too, card = CARD_LAYOUTS[layout]

    def capture(name: str, how: str, gap: str = "11px 6px") -> tuple[Image.Image, Image.Image, int]:
        """The page seen and the widget's picture, 80 % deep."""
        cards = "".join(f'<div class="far" style="{card}height: {40 + n * 7 % 45}px; background: {colours[n * 5 % 4]}">'
                        f"Card {n}</div>" for n in range(600))
        grid = f'<div style="{style.format(how)}; gap: {gap}">{cards}</div><p>After the cards</p>'
        return capture_deep(page, host_site, served, name, grid, width=1280)

    _, whole, copied_whole = capture("cards-whole.html", whole_too)
    seen, drawn, copied = capture("cards.html", plain)
    assert copied_whole == 600 and copied < 80, (copied_whole, copied)  # about 16 rows of 3 in view
    assert drawn.tobytes() == whole.tobytes()
    for x in (300, 700):  # two columns, right of the cards' words (on the screen the open form covers the third)
        assert colour_edges(drawn, x) == colour_edges(seen, x) and len(colour_edges(seen, x)) >= 12, x
    # A row gap in percent is one the capture cannot measure: copied whole. (A grid's is drawn as seen; a flex row's is
    # not, even whole: its copy is given the row's measured height, against which the percentage then resolves.)
    seen, drawn, copied = capture("cards-percent.html", plain, "1% 6px")
    assert copied == 600 and (layout == "wrap" or colour_edges(drawn, 300) == colour_edges(seen, 300))


@pytest.mark.parametrize("layout", [
    "display: grid; grid-template-columns: repeat(3, 1fr); grid-auto-flow: row dense; align-items: start",
    "display: flex; flex-direction: column-reverse",
])
def test_a_capture_deep_in_other_flex_and_grid_containers_copies_their_far_items_empty(page, served, host_site, layout):
    """A grid packed densely, or a feed laid out in reverse, is copied whole, so each of its 300 cards' words and links
    were copied too, however far from the viewport. The cards wholly above or below it are now copied empty, each its
    own box at its measured size, and every card in view is drawn as the visitor sees it."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)", "rgb(0, 160, 60)")

    def capture(name: str, inside: str) -> tuple[Image.Image, Image.Image, int]:
        """The page seen and the widget's picture, 80 % deep; ``inside``: what each card holds besides its words (a sticky
        span, which never sticks here, keeps a card whole)."""
        cards = "".join(f'<div style="height: {40 + n * 7 % 45}px; background: {colours[n * 5 % 4]}">{inside}'
                        f'<span class="far">Card {n}</span> <b class="far">bold</b> <a class="far" href="#">more</a></div>'
                        for n in range(300))
        return capture_deep(page, host_site, served, name, f'<div style="{layout}; gap: 9px 6px">{cards}</div><p>After</p>', width=1280)

    _, whole, copied_whole = capture("cards-whole.html", '<span style="position: sticky"></span>')
    seen, drawn, copied = capture("cards.html", "")
    assert copied_whole > 600 and copied < 200, (copied_whole, copied)  # (words in cards below were left out before)
    assert drawn.tobytes() == whole.tobytes()  # the same picture as from copying every card whole
    assert colour_edges(drawn, 290) == colour_edges(seen, 290) and len(colour_edges(seen, 290)) >= 12


def test_a_card_below_the_viewport_whose_placed_child_reaches_into_view_is_copied_with_it(page, served, host_site):
    """A grid card wholly below the viewport was copied empty, judged by its own box, so a badge placed upwards from it
    into view (here a green bar) was missing from the picture. What a card draws now counts, its placed children's boxes
    included."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    cards = "".join(f'<div style="height: {40 + n * 7 % 45}px; background: rgb(240, 240, 240)"><span class="far">Card {n}</span></div>'
                    for n in range(300))
    grid = f'<div style="display: grid; grid-template-columns: repeat(3, 1fr); grid-auto-flow: row dense; gap: 9px 6px">{cards}</div>'
    page.goto(host_site.write("badge.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace("</main>", f"</main>{grid}")))
    page.evaluate("scrollTo(0, Math.round((document.documentElement.scrollHeight - innerHeight) * 0.5))")
    at = page.evaluate("""() => {
        const card = [...document.querySelectorAll('.far')].map(s => s.parentElement).find(c => c.getBoundingClientRect().top > innerHeight + 100);
        const r = card.getBoundingClientRect(), bar = document.createElement('i');
        card.style.position = 'relative';
        bar.style.cssText = `position: absolute; left: 10px; top: ${innerHeight - 200 - r.top}px; width: 80px; height: 30px; background: rgb(0, 200, 0)`;
        card.append(bar);
        const b = bar.getBoundingClientRect(); return [Math.round(b.left + 40), Math.round(b.top + 15)]; }""")
    seen, drawn = screen_and_picture(page, open_form(page, None), width=1280, timeout=60_000)
    assert seen.getpixel(tuple(at)) == drawn.getpixel(tuple(at)) == (0, 200, 0)
    assert page.evaluate("window.gfCloned.far") < 100  # the other cards out of view are still copied empty


@pytest.mark.parametrize("panel", [
    "display: flex; gap: 6px; overflow-x: auto; width: 700px",  # a carousel scrolled sideways
    "display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; overflow-y: auto; height: 400px; width: 700px",
])
def test_a_capture_of_a_carousel_or_a_scrolled_panel_copies_the_items_it_hides_empty(page, served, host_site, panel):
    """A carousel's far cards, and the rows a scrolled panel hides, lie in the viewport's reach, so each was copied whole
    with its words and links. What the panel's clip hides is now copied empty, each card its own box, unless a card
    holds something placed against an element outside the panel, which the clip does not hide (the green mark here)."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)", "rgb(0, 160, 60)")
    sideways = "overflow-x" in panel
    mark = '<i style="position: absolute; left: 30px; top: 2px; width: 40px; height: 16px; background: rgb(0, 200, 0)"></i>'

    def capture(name: str, inside: str) -> tuple[Image.Image, Image.Image, int, dict[str, float]]:
        """The screen and the widget's picture with the panel scrolled to its middle; ``inside``: what each card holds
        besides its words (a sticky span keeps a card whole)."""
        size = "flex: none; width: 140px; height: 120px" if sideways else "height: {h}px"
        cards = "".join(f'<div style="{size.format(h=40 + n * 7 % 45)}; background: {colours[n * 5 % 4]}">{inside}{mark if n == 7 else ""}'
                        f'<span class="far">Card {n}</span> <b class="far">bold</b> <a class="far" href="#">more</a></div>'
                        for n in range(200))
        html = (HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                .replace("<main>", f'<div style="position: relative; padding: 20px"><div id="panel" style="{panel}">{cards}</div></div><main>'))
        page.goto(host_site.write(name, html))
        box = page.evaluate("""sideways => { const p = document.getElementById('panel');
            if (sideways) p.scrollLeft = 1500; else p.scrollTop = 1500;
            const r = p.getBoundingClientRect(), m = p.querySelector('i').getBoundingClientRect();
            return { top: r.top, left: r.left, bottom: r.bottom, right: r.right, markX: m.left + 20, markY: m.top + 8 }; }""", sideways)
        seen, drawn = screen_and_picture(page, open_form(page, None), width=1280, timeout=60_000)
        return seen, drawn.crop((0, 0, 1280, 800)), page.evaluate("window.gfCloned.far"), box

    _, whole, copied_whole, _ = capture("panel-whole.html", '<span style="position: sticky"></span>')
    seen, drawn, copied, box = capture("panel.html", "")
    # Of 200 cards, about 5 (or 20 panel rows) in view; the card with the mark is copied whole. (The grid's rows below
    # the viewport went already, all the whole copy left out.)
    assert copied_whole >= (600 if sideways else 250) and copied < 80, (copied_whole, copied)
    assert drawn.tobytes() == whole.tobytes()  # the same picture as from copying every card whole
    mark_at = (round(box["markX"]), round(box["markY"]))
    assert drawn.getpixel(mark_at) == seen.getpixel(mark_at) == (0, 200, 0)
    # And the panel is drawn as seen: where the colours change across its middle. (Not in its last 24 px, where the
    # scrolled copy's cards end a few pixels from the screen's, as in the whole copy: the panel's scroll, not this.)
    if sideways:
        y = round(box["top"] + 100)
        edges = [[x for x in range(round(box["left"]), round(box["right"]) - 24) if im.getpixel((x, y)) != im.getpixel((x - 1, y))] for im in (seen, drawn)]
    else:
        x = round(box["left"] + 200)
        edges = [[y for y in range(round(box["top"]), round(box["bottom"]) - 24) if im.getpixel((x, y)) != im.getpixel((x, y - 1))] for im in (seen, drawn)]
    assert edges[0] == edges[1] and len(edges[0]) >= 6, (sorted(set(edges[0]) ^ set(edges[1])), edges)


def test_a_placed_child_of_a_clipping_row_drawn_outside_it_is_copied_with_what_it_holds(page, served, host_site):
    """A row that clips (overflow: hidden) copies its cards beside its box empty. Its own child placed against a box
    around the row is not held by that clip, so drawn outside the row it is still seen, and copied whole."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    cards = "".join(f'<div style="flex: none; width: 140px; height: 80px; background: rgb(240, 240, 240)"><span class="far">Card {n}</span></div>'
                    for n in range(40))
    tag = ('<div id="tag" style="position: absolute; left: 30px; top: 140px; width: 40px; height: 40px; background: rgb(200, 0, 200)">'
           '<b style="display: block; width: 20px; height: 20px; background: rgb(0, 0, 0)"></b></div>')
    clipping = "display: flex; gap: 6px; overflow: hidden; width: 700px"
    row = f'<div style="position: relative; padding: 20px"><div id="row" style="{clipping}">{tag}{cards}</div></div>'
    page.goto(host_site.write("row.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace("<main>", f"{row}<main>")))
    at = page.evaluate("""() => { const t = document.getElementById('tag').getBoundingClientRect();
        return [Math.round(t.left + 10), Math.round(t.top + 10), t.top >= document.getElementById('row').getBoundingClientRect().bottom]; }""")
    seen, drawn = screen_and_picture(page, open_form(page, None), width=1280, timeout=60_000)
    assert at[2] and seen.getpixel((at[0], at[1])) == drawn.getpixel((at[0], at[1])) == (0, 0, 0)
    assert page.evaluate("window.gfCloned.far") < 10  # of 40 cards, 5 in the row's box


@pytest.mark.parametrize("borders", ["border-spacing: 4px 3px", "border-collapse: collapse"])
def test_a_capture_deep_in_a_long_table_copies_little_and_draws_the_same_picture(page, served, host_site, borders):
    """A table of 1,000 rows (an order list) was copied whole: 10 s and more, past the form's limit, so no picture.
    Its rows wholly above now stand in as one row of their height and its rows wholly below go; the columns keep their
    widths though the rows that set them (the long names here) are left out."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)", "rgb(0, 160, 60)")

    def capture(name: str, last: str) -> tuple[Image.Image, Image.Image, int]:
        """The page seen and the widget's picture, 80 % deep. ``last``: the last row's first cell's attributes; one that
        spans the rest of the body's rows (none, as it is the last) makes the table not plain, copied whole."""
        rows = "".join(
            f'<tr class="far" style="background: {colours[n * 5 % 4]}"><td{last if n == 399 else ""}'
            f' style="height: {18 + n * 7 % 25}px; border-bottom: {n % 3}px solid rgb(90, 0, 0)">{n}</td>'
            f'<td>{"A name long enough to set the column" if n in (5, 390) else f"Order {n}"}</td>'
            f'<td>{"word " * (n % 4)}</td></tr>' for n in range(400))
        table = (f'<table style="{borders}"><thead><tr><th>#</th><th>Order</th><th>Notes</th></tr></thead>'
                 f"<tbody>{rows}</tbody></table><p>After the table</p>")
        return capture_deep(page, host_site, served, name, table, width=1280)

    _, whole, copied_whole = capture("table-whole.html", ' rowspan="0"')
    seen, drawn, copied = capture("table.html", "")
    assert copied_whole == 400 and copied < 50, (copied_whole, copied)  # about 30 rows in view
    assert drawn.tobytes() == whole.tobytes()  # the same picture as from copying every row
    # Right of the orders' words, in the column the long names widen (the other columns' words are rasterised a little
    # differently in any copy): every row's edge where the visitor sees it.
    assert colour_edges(drawn) == colour_edges(seen) and len(colour_edges(seen)) >= 20


def test_the_screenshot_keeps_margins_that_collapse_through_a_parents_bottom(page, served, host_site):
    """html-to-image gives each copied element its measured height, and a block of fixed height keeps its last child's
    bottom margin inside: a `<header><h1>` (the h1's 21 px) or a `<section><p>` each lost that margin in the copy, so
    everything after them was drawn higher than the visitor saw it, and the outline of a picked element missed it."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    sections = "".join(f"<section><div><p>Section {n}</p></div></section>" for n in range(4))  # 16 px each, through two parents
    stripes = "".join(f'<div style="height: 100px; background: {("rgb(250, 200, 0)", "rgb(0, 120, 250)")[n % 2]}"></div>' for n in range(30))
    page.goto(host_site.write("margins.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</main>", f"</main>{sections}{stripes}")))
    page.evaluate("scrollTo(0, 700)")
    page.wait_for_function("scrollY === 700")
    form = open_form(page, None)
    seen, drawn = screen_and_picture(page, form)
    # Where the stripes change colour down the left edge: the same rows on the screen and in the picture.

    assert colour_edges(drawn, 4) == colour_edges(seen, 4) and len(colour_edges(seen, 4)) >= 6


def test_the_screenshot_draws_an_element_placed_on_the_page_itself_where_it_is(page, served, host_site):
    """An absolutely placed element with no placed ancestor (a tooltip or menu a library hangs from <body>) is placed
    against the page's first screen; in the copy it was placed against the picture's box, which the lift does not
    move, so scrolled down it was drawn too low or not at all."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    tip = '<div style="position: absolute; top: 900px; left: 30px; width: 100px; height: 100px; background: rgb(0, 200, 0)"></div>'
    stripes = "".join(f'<div style="height: 100px; background: {("rgb(250, 200, 0)", "rgb(0, 120, 250)")[n % 2]}"></div>' for n in range(30))
    page.goto(host_site.write("tip.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</main>", f"</main>{stripes}{tip}")))
    page.evaluate("scrollTo(0, 500)")
    page.wait_for_function("scrollY === 500")
    form = open_form(page, None)
    shot = form.get_by_role("img", name="Screenshot")
    expect(shot).to_be_visible(timeout=15_000)
    drawn = Image.open(io.BytesIO(base64.b64decode(shot.get_attribute("src").split(",", 1)[1]))).convert("RGB")
    assert [drawn.getpixel((80, y)) for y in (405, 450, 495)] == [(0, 200, 0)] * 3  # 900 - 500 = 400 on the screen
    assert drawn.getpixel((80, 395)) != (0, 200, 0) and drawn.getpixel((80, 505)) != (0, 200, 0)


def test_a_long_capture_lets_the_page_run_and_its_limit_stops_it(page, served, host_site):
    """html-to-image copies the page through a chain of promises, which held the page's thread until the copy was done:
    deep in a long page set in columns (its blocks are always copied) the page froze for seconds, and the form's 8 s limit, a
    timer, could not fire before the picture came anyway. The copy now gives the page a turn every few milliseconds,
    and at the limit it stops (it is not left running unseen): the form says so and the feedback goes without it."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    feed = ('<div style="columns: 2">'
            + "".join(f'<div class="row"><span>Item {n}</span><p>About <b>item</b> {n}</p><a href="#">more</a></div>' for n in range(1500))
            + "</div>")
    page.add_init_script(COUNT_CLONES)
    # The limit, 1 s here: copying this feed takes longer (10 s unpaced on these cores). Not the page's fake clock
    # (page.clock): it stands time still while it runs timers, and the copy measures its turns by the time.
    page.add_init_script("""const later = window.setTimeout;
        window.setTimeout = function (f, ms, ...a) { return later.call(this, f, ms === 8000 ? 1000 : ms, ...a); };""")
    page.goto(host_site.write("feed.html", HOST_PAGE.format(
        base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("</main>", f"{feed}</main>")))
    page.evaluate("scrollTo(0, Math.round((document.documentElement.scrollHeight - innerHeight) * 0.9))")
    # The page's own timer, counting its turns once the feed's rows are being copied and until the form says how it went.
    page.evaluate("""() => { window.during = 0; const note = () => document.querySelector('[data-gf-widget]').shadowRoot
        .querySelector('.shot-note').textContent; setInterval(() => {
            if (note().startsWith('Capturing') && window.gfCloned && window.gfCloned.row > 0) window.during++; }, 16); }""")
    form = open_form(page, None)
    # Waited for by a cheap look from time to time: a locator's look through this page's text takes the thread 200 ms.
    page.wait_for_function("window.gfEnded", timeout=60_000, polling=100)
    assert page.evaluate("window.gfEnded") == "stopped" and page.evaluate("window.gfCloned.row") < 1500
    assert page.evaluate("window.during") >= 10
    expect(form.get_by_text("The screenshot could not be taken")).to_be_visible()
    form.get_by_label("Comment").fill("Sent without a picture")
    created = send(page, form)
    assert detail(proc, creds, created["id"])["screenshot_key"] is None



def test_the_launcher_marks_kept_words_after_a_reload_until_they_are_sent_or_emptied(page, served, host_site):
    """Kept words came back once the form was opened again, but after a reload nothing on the launcher said they were
    there (its mark was only for words closed with Esc in this visit). It now has the mark, and says why."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    mark = "b => getComputedStyle(b, '::after').content"
    expect(launcher).to_have_accessible_description("")
    assert launcher.evaluate(mark) == "none"
    form = open_form(page)
    form.get_by_label("Comment").fill("Half a thought about the kettle")
    page.reload()
    expect(launcher).to_have_accessible_description("Unsent words are kept for this page")
    assert launcher.evaluate(mark) == '""'
    form = open_form(page, None)
    form.get_by_label("Comment").fill("")  # emptied: nothing kept
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()
    expect(launcher).to_have_accessible_description("")
    assert launcher.evaluate(mark) == "none"
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Sent at last")
    page.reload()
    expect(launcher).to_have_accessible_description("Unsent words are kept for this page")
    form = open_form(page, None)
    send(page, form)
    expect(form).to_be_hidden()  # closed once delivered
    expect(launcher).to_have_accessible_description("")
    assert launcher.evaluate(mark) == "none"
    page.reload()
    expect(launcher).to_be_visible()
    expect(launcher).to_have_accessible_description("")
    assert launcher.evaluate(mark) == "none"


def test_the_screenshot_of_a_page_that_scrolls_inside_a_panel_shows_where_the_panel_is_scrolled(page, served, host_site):
    """An app's page often scrolls a panel, not itself (`body` fixed to the screen, `main` scrolling). The copy is laid
    out anew, and a copied scroller starts at its top: the picture showed the panel's first screen, whatever the
    visitor had scrolled to."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)")
    stripes = "".join(f'<div style="height: {30 + n % 7 * 10}px; background: {colours[n % 3]}"></div>' for n in range(120))
    shelf = "".join(f'<div style="flex: none; width: 90px; background: {colours[n % 3]}"></div>' for n in range(40))
    # A shelf scrolled sideways in view, without a scrollbar (headless Chromium draws none on the screen, a copy would).
    html = (HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
            .replace("</style>", "html, body { height: 100%; overflow: hidden; } #panel { height: 100%; overflow: auto; }</style>")
            .replace("<main>", '<main id="panel">')
            .replace("</main>", f'{stripes[:stripes.index("<div", 2000)]}<div id="shelf" style="display: flex; height: 60px;'
                     f' overflow-x: auto; scrollbar-width: none">{shelf}</div>{stripes}</main>'))
    page.goto(host_site.write("panel.html", html))
    page.evaluate("document.getElementById('shelf').scrollLeft = 1234; document.getElementById('panel').scrollTop = 1777")
    form = open_form(page, None)
    seen, drawn = screen_and_picture(page, form)

    assert colour_edges(drawn) == colour_edges(seen) and len(colour_edges(seen)) >= 10
    # And across the shelf, scrolled sideways: where its tiles change colour.
    y = round(page.evaluate("document.getElementById('shelf').getBoundingClientRect().top")) + 30
    assert 0 < y < 800
    across = [[im.getpixel((x, y)) for x in range(500)] for im in (seen, drawn)]
    assert [x for x in range(1, 500) if across[0][x] != across[0][x - 1]] == [x for x in range(1, 500) if across[1][x] != across[1][x - 1]]
    assert across[0] == across[1]


def test_a_feed_with_words_between_its_rows_is_still_drawn(page, served, host_site):
    """A feed's loose words (a count, a separator typed between the rows) are text, copied as text nodes: the copy gave
    every copy of a feed's child `flex: none` through its style, which a text node has not, so the capture threw and the
    form had no picture at all."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.add_init_script(COUNT_CLONES)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)")
    rows = "".join(f'<div style="height: {20 + n % 5 * 9}px; background: {colours[n % 3]}">Row {n}</div>{n + 1} of 200' for n in range(200))
    feed = f'<div style="display: flex; flex-direction: column; gap: 4px">{rows}</div>'
    seen, drawn, _ = capture_deep(page, host_site, served, "feed-words.html", feed)
    assert colour_edges(drawn) == colour_edges(seen) and len(colour_edges(seen)) >= 20


def test_a_scrolled_panel_draws_its_sticky_header_where_it_is_stuck_and_a_dropped_menu_over_its_rows(page, served, host_site):
    """A panel scrolled inside the page is copied at its start, its children moved by its scroll: a sticky element in it
    (a table's header cell, a list's section title) was drawn where its place in the flow is, out of view, not stuck
    at the panel's top as the visitor sees it. It is now copied unstuck and moved to where it is on the screen.
    And the moved children paint as placed boxes do, in the document's order: a menu dropped from a row went under the
    rows that follow it, as the stuck title did. Children holding placed boxes are now lifted over the rest."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)")
    cells = "".join(f'<tr><td style="height: {20 + n % 5 * 9}px; background: {colours[n % 3]}">Row {n}</td></tr>' for n in range(150))
    stripes = [f'<div style="height: {20 + n % 5 * 9}px; background: {colours[n % 3]}">Stripe {n}</div>' for n in range(150)]
    menu = ('<div><div style="position: relative; height: 24px; background: rgb(200, 200, 200)">Menu<div style="position: absolute;'
            ' top: 24px; left: 250px; width: 100px; height: 150px; background: rgb(0, 200, 0)"></div></div></div>')
    panel = 'style="height: 300px; overflow: auto; scrollbar-width: none"'
    html = HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("<body>", (
        f'<body><div id="table" {panel}><table style="border-collapse: collapse; width: 100%"><thead><tr><th style="position: sticky;'
        f' top: 0; height: 40px; background: rgb(200, 0, 200)">Head</th></tr></thead><tbody>{cells}</tbody></table></div>'
        f'<div id="list" {panel}>{"".join(stripes[:30])}<h3 style="position: sticky; top: 10px; margin: 0; height: 30px;'
        f' background: rgb(0, 0, 200)">Section</h3>{"".join(stripes[:82])}{menu}{"".join(stripes)}</div>'))
    page.goto(host_site.write("sticky-panel.html", html))
    page.evaluate("document.getElementById('table').scrollTop = 2000; document.getElementById('list').scrollTop = 4100")
    form = open_form(page, None)
    seen, drawn = screen_and_picture(page, form)
    tops = page.evaluate("['table', 'list'].map(id => Math.round(document.getElementById(id).getBoundingClientRect().top))")
    assert seen.getpixel((300, tops[0] + 20)) == (200, 0, 200) and seen.getpixel((300, tops[1] + 25)) == (0, 0, 200)
    assert (0, 200, 0) in [seen.getpixel((300, y)) for y in range(tops[1], tops[1] + 300)]  # the menu

    assert colour_edges(drawn) == colour_edges(seen) and len(colour_edges(seen)) >= 15


def test_a_scrolled_panels_child_placed_against_a_box_around_it_stays_where_the_page_draws_it(page, served, host_site):
    """A panel's scroll moves only what is placed inside it. A direct child placed against a box around the panel (a
    badge in a carousel's corner), or fixed to the screen, is not scrolled with it; the copy moved it by the panel's
    scroll all the same, so the badge was drawn a scroll's width away, out of the picture. And the panel's children,
    moved in the copy, painted over what is placed over them on the screen: the badge, and a mark laid on the panel."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    colours = ("rgb(250, 200, 0)", "rgb(0, 120, 250)", "rgb(240, 240, 240)")
    cards = "".join(f'<div style="flex: none; width: 90px; background: {colours[n % 3]}"></div>' for n in range(40))
    badge = '<div id="badge" style="position: absolute; top: 10px; right: 20px; width: 40px; height: 40px; background: rgb(220, 0, 0)"></div>'
    bar = '<div id="bar" style="position: fixed; left: 0; bottom: 100px; width: 200px; height: 30px; background: rgb(0, 160, 0)"></div>'
    mark = '<div id="mark" style="position: absolute; top: 60px; left: 100px; width: 30px; height: 30px; background: rgb(120, 0, 160)"></div>'
    html = HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="").replace("<body>", (
        f'<body><div style="position: relative; width: 480px; margin: 20px 0">{mark}<div id="shelf" style="display: flex; height: 120px;'
        f' overflow-x: auto; scrollbar-width: none">{badge}{bar}{cards}</div></div>'))
    page.goto(host_site.write("badge.html", html))
    page.evaluate("document.getElementById('shelf').scrollLeft = 1234")
    form = open_form(page, None)
    seen, drawn = screen_and_picture(page, form)
    at = page.evaluate("['badge', 'bar', 'mark'].map(id => { const r = document.getElementById(id).getBoundingClientRect();"
                       " return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)]; })")
    for im in (seen, drawn):
        assert [im.getpixel(tuple(xy)) for xy in at] == [(220, 0, 0), (0, 160, 0), (120, 0, 160)]
    assert colour_edges(drawn) == colour_edges(seen) and len(colour_edges(seen)) >= 5


def test_a_pin_names_its_status_in_words(page, served, host_site):
    """QA: feedback the team marked won_t_fix showed "Status: won t fix" in its card, and its pin was read out as
    "Your feedback 1: won_t_fix"; "ack" was shown as is."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    page.goto(url)
    member = bearer(creds["member_token"])
    for number, (status, words) in enumerate((("won_t_fix", "won't fix"), ("ack", "acknowledged")), start=1):
        form = open_form(page, "#buy")
        form.get_by_label("Comment").fill(f"To be marked {status}")
        ann_id = send(page, form)["id"]
        assert httpx.patch(f"{proc.url}/api/v1/annotations/{ann_id}", json={"status": status}, headers=member).status_code == 200
        page.goto(url)
        pin = page.get_by_role("button", name=f"Your feedback {number}: {words}", exact=True)
        expect(pin).to_be_visible()
        pin.click()
        card = page.get_by_role("dialog", name="Your feedback")
        expect(card.locator(".st").first).to_have_text(f"Status: {words}")
        page.keyboard.press("Escape")
        expect(card).to_be_hidden()


def test_a_page_forcing_its_text_styles_on_every_element_leaves_the_widget_as_it_is(page, served, host_site):
    """QA: a page with `* { direction: rtl !important; letter-spacing: …; text-transform: uppercase !important }` turned
    the widget's form round and spelled it in spaced capitals (its host inherited them past the inline style), and one
    that hides what follows its body (`body ~ * { display: none !important }`, against injected elements) hid it."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    forced = ("* { direction: rtl !important; letter-spacing: 4px !important; text-transform: uppercase !important;"
              " word-spacing: 12px !important; } body ~ * { display: none !important; }")
    page.goto(host_site.write("forced.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace("</style>", f"{forced}</style>")))
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_be_visible()
    form = open_form(page, None)
    title = form.get_by_role("heading", name="Send feedback")
    for prop, value in (("direction", "ltr"), ("letter-spacing", "normal"), ("text-transform", "none"), ("word-spacing", "0px")):
        expect(title).to_have_css(prop, value)
    cancel, send_button = (form.get_by_role("button", name=n).bounding_box() for n in ("Cancel", "Send"))
    assert cancel["x"] < send_button["x"]
    form.get_by_label("Comment").fill("Sent from a page that forces its styles")
    send(page, form)


def test_many_whole_page_pins_at_phone_width_each_stay_in_reach(browser, served, host_site):
    """QA: a visitor's whole-page feedback lines up beside the launcher; at phone width the ninth and tenth were both
    pushed to the left edge, the tenth drawn over the ninth (out of reach) and over half of the eighth."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    key = "phone-visitor-" + "k" * 30
    for n in range(1, 11):
        made = httpx.post(f"{proc.url}/api/widget/sites/{creds['site_id']}/annotations",
                          headers={"X-GF-Widget-Token": creds["widget_token"], "Origin": host_site.url},
                          json={"page_url": url, "body": f"About the whole page, {n}", "kind": "bug", "submitter_key": key,
                                "capture": {"anchor": {"whole_page": True}}})
        assert made.status_code == 201, made.text
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(url)
        page.evaluate("([k, v]) => localStorage.setItem(k, JSON.stringify(v))", [f"gf:{creds['site_id']}:key", key])
        page.reload()
        pins = page.locator(".pin")
        expect(pins).to_have_count(10)
        boxes = [pins.nth(i).bounding_box() for i in range(10)]
        launcher = page.get_by_role("button", name="Feedback", exact=True).bounding_box()
        for i, b in enumerate(boxes):
            assert b["x"] >= 0 and b["x"] + b["width"] <= 390 and b["y"] >= 0, (i, b)
            assert not (b["x"] < launcher["x"] + launcher["width"] and launcher["x"] < b["x"] + b["width"]
                        and b["y"] < launcher["y"] + launcher["height"] and launcher["y"] < b["y"] + b["height"]), (i, b)
            for j, o in enumerate(boxes[:i]):
                apart = b["x"] + b["width"] <= o["x"] or o["x"] + o["width"] <= b["x"] or b["y"] + b["height"] <= o["y"] or o["y"] + o["height"] <= b["y"]
                assert apart, f"pin {i + 1} covers pin {j + 1}: {b} {o}"
        page.get_by_role("button", name="Your feedback 9: new").click()
        expect(page.get_by_role("dialog", name="Your feedback")).to_contain_text("About the whole page, 9")
    finally:
        context.close()


def test_a_page_zoomed_with_css_zoom_gets_the_outline_on_the_element_and_the_form_on_screen(page, served, host_site):
    """QA: on a page scaled with `html { zoom: 1.6 }` the picker's outline was drawn 1.6 times as far from the corner
    as the element it outlined, and the form's top (its title, the screenshot) was off the top of the screen."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_site.write("zoomed.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace("</style>", "html { zoom: 1.6; }</style>")))
    page.get_by_role("button", name="Feedback", exact=True).click()
    page.locator("#buy").hover(force=True)
    outline = page.locator(".outline")
    expect(outline).to_be_visible()
    buy, drawn = page.locator("#buy").bounding_box(), outline.bounding_box()
    assert drawn["x"] <= buy["x"] + 4 and drawn["x"] + drawn["width"] >= buy["x"] + buy["width"] - 4, (buy, drawn)
    assert drawn["y"] <= buy["y"] + 4 and drawn["y"] + drawn["height"] >= buy["y"] + buy["height"] - 4, (buy, drawn)
    assert drawn["width"] < buy["width"] + 20, (buy, drawn)
    page.locator("#buy").click(force=True)
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_be_visible()
    box = form.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 1280, box
    expect(form.get_by_role("heading", name="Send feedback")).to_be_in_viewport()


def test_a_refusal_without_a_reason_is_said_in_words(page, served, host_site):
    """QA: a firewall in front of the server answered a comment quoting some HTML with its own 403 page; the form said
    "Not sent. HTTP 403"."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.route("**/annotations", lambda route: route.fulfill(status=403, content_type="text/html", body="<html><h1>Forbidden</h1></html>",
                                                             headers={"Access-Control-Allow-Origin": host_site.url})
               if route.request.method == "POST" else route.fallback())
    form = open_form(page, None)
    form.get_by_label("Comment").fill("The page shows <script> in the footer")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("alert")).to_have_text("Not sent. The server refused it (HTTP 403).")
    expect(form.get_by_label("Comment")).to_have_value("The page shows <script> in the footer")


@pytest.mark.parametrize("navigation_api", [True, False], ids=["navigation-api", "without-it"])
def test_a_single_page_app_moving_between_its_pages_gets_each_pages_pins_and_kept_words(page, served, host_site, navigation_api):
    """A single-page app changes its address with the History API and loads no page: the pins and the launcher's mark
    of kept words were those of the page the widget loaded on, on every later one, and words typed on a later page
    were kept under the first page's address. Chromium reports the change through the Navigation API; a browser
    without it (Firefox before 2025, Safari) is followed by comparing the address."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    if not navigation_api:
        page.add_init_script("Object.defineProperty(window, 'navigation', { value: undefined })")
    extra_html = '<button id="go" onclick="history.pushState({}, \'\', \'other.html\')">Other page</button>'
    page.goto(host_site.write("spa.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace("</main>", f"{extra_html}</main>")))
    assert page.evaluate("window.navigation === undefined") is not navigation_api
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("Sent from the first page")
    send(page, form)
    expect(form).to_be_hidden()  # "Sent", then closed
    pins = page.locator("[data-gf-widget]").locator(".pin")
    expect(pins).to_have_count(1)

    page.locator("#go").click()  # pushState: no load, no event
    page.wait_for_function("location.pathname.endsWith('/other.html')")
    expect(pins).to_have_count(0)
    form = open_form(page, None)
    form.get_by_label("Comment").fill("Words for the other page")
    page.keyboard.press("Escape")
    expect(launcher).to_have_accessible_description("Unsent words are kept for this page")

    page.go_back()  # popstate
    expect(pins).to_have_count(1)
    expect(launcher).not_to_have_accessible_description("Unsent words are kept for this page")
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("")
    page.keyboard.press("Escape")

    page.go_forward()
    expect(pins).to_have_count(0)
    expect(launcher).to_have_accessible_description("Unsent words are kept for this page")
    form = open_form(page, None)
    expect(form.get_by_label("Comment")).to_have_value("Words for the other page")
    # The address moving while the form is open: the feedback is about the page it was opened on.
    page.evaluate("history.pushState({}, '', 'third.html')")
    sent = send(page, form)
    assert sent["page_url"].endswith("/other.html"), sent["page_url"]


def test_a_pin_follows_its_element_when_the_page_changes_under_it(page, served, host_site):
    """Pins were placed on load, scroll and resize only: a banner inserted above (content loaded late, a single-page
    app rendering its new route after the address changed) left each pin where its element had been."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("The button does nothing")
    send(page, form)
    pin = page.locator("[data-gf-widget]").locator(".pin")
    expect(pin).to_have_count(1)

    def pin_on_the_button() -> bool:
        button, placed = page.locator("#buy").bounding_box(), pin.bounding_box()
        assert button is not None and placed is not None
        return abs(placed["x"] - (button["x"] + button["width"] - 13)) < 2 and abs(placed["y"] - (button["y"] - 13)) < 2

    page.wait_for_function("document.querySelector('[data-gf-widget]').shadowRoot.querySelector('.pin').style.top !== ''")
    assert pin_on_the_button()
    page.evaluate("""() => { const b = document.createElement('div'); b.style.height = '180px'; b.textContent = 'Sale!';
        document.querySelector('main').prepend(b); }""")
    on_the_button = """() => { const pin = document.querySelector('[data-gf-widget]').shadowRoot.querySelector('.pin');
        return Math.abs(parseFloat(pin.style.top) - (document.getElementById('buy').getBoundingClientRect().top - 13)) < 2; }"""
    page.wait_for_function(on_the_button)
    assert pin_on_the_button()
    # Rendered anew elsewhere (a framework's re-render): the pin finds the new element, not the one it had.
    page.evaluate("""() => { const card = document.querySelector('.card'); card.remove();
        setTimeout(() => document.querySelector('main').append(card.cloneNode(true)), 300); }""")
    page.wait_for_function("document.getElementById('buy') !== null")
    page.wait_for_function(on_the_button)
    assert pin_on_the_button()


# -- what a screen reader says and a keyboard reaches ---------------------------------------------------


def test_a_fields_error_is_what_the_field_is_described_by_until_it_is_mended(page, served, host_site):
    """The error was an alert beside the field, marked invalid: read once as it appeared, and back on the field a screen
    reader said "invalid entry" and nothing of what was wrong."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("The kettle price is wrong")
    email = form.get_by_label("Email (optional)")
    email.fill("vera.example.com")
    form.get_by_role("button", name="Send").click()
    expect(email).to_be_focused()
    expect(email).to_have_accessible_description("Check the email address: it should look like name@example.com.")
    expect(form.get_by_label("Comment")).to_have_accessible_description("")
    email.fill("vera@example.com")  # mended: no longer said to be wrong
    expect(email).to_have_accessible_description("")
    # The server's refusal of another field moves the error there, and only there.
    form.get_by_label("Name (optional)").fill("Vera\x00")
    with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
        form.get_by_role("button", name="Send").click()
    assert resp.value.status == 422
    name = form.get_by_label("Name (optional)")
    expect(name).to_be_focused()
    expect(name).to_have_accessible_description(re.compile(r"^Not sent\. Name: "))
    expect(email).to_have_accessible_description("")


def test_the_form_and_a_pins_card_say_they_are_modal_as_tab_keeps_to_them(page, served, host_site):
    """Tab goes round the form's controls (and a card's) and never reaches the page, yet both said they were not modal:
    a screen reader offered the page behind as there to be used."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    expect(form.get_by_label("Comment")).to_be_focused()
    assert ax_dialogs(page) == {"Send feedback": True}
    form.get_by_label("Comment").fill("Button does nothing")
    send(page, form)
    expect(form).to_be_hidden()
    pin = page.get_by_role("button", name="Your feedback 1: new")
    pin.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Your feedback")).to_be_focused()
    assert ax_dialogs(page) == {"Your feedback": True}


def test_the_form_says_what_it_is_about_and_how_its_screenshot_went(page, served, host_site):
    """The form's "About: …" line was drawn only (a screen reader entering the form heard "Send feedback" and nothing
    of the element picked), and "The screenshot could not be taken" appeared unannounced. The form is described by
    its About line; the screenshot's note is a polite live region, there before its words."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, None)
    expect(form).to_have_accessible_description(f"About: the whole page {ANONYMOUS}")
    note = form.locator(".shot-note")
    expect(note).to_have_attribute("aria-live", "polite")
    expect(note).not_to_have_attribute("role", "status")  # the form's one status stays the Send result's
    form.get_by_role("button", name="Cancel").click()
    form = open_form(page, "#buy")
    expect(form).to_have_accessible_description(f"About: button “Add to cart” {ANONYMOUS}")


# Picked on the host page, with what the form's About line should call each (README "Form").
NAMED = """
<h2 id="title">Kettle</h2><label for="qty">Quantity</label><input id="qty" value="private-42">
<button id="x" aria-label="Close cart">×</button>
<img id="pic" alt="A red kettle" width="40" height="40" src="data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==">
<p id="long">{long}</p>
<p id="hostile">&lt;img src=x onerror="document.body.dataset.pwned=1"&gt;\u202e reversed</p>
<div id="blank" style="width: 60px; height: 30px; background: #eee"></div>
"""


def test_the_about_line_names_the_picked_element_as_a_person_would_and_the_selector_still_goes(page, served, host_site):
    """The form's About line (the form's description to a screen reader) showed the picked element's CSS selector,
    "About: main > div.card:nth-of-type(2) > p.price", which tells a visitor nothing. It names the element now, its
    role in words and its accessible name, bounded, as text (the page's words are the page's, never markup); the
    selector still goes to the server."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    long = " ".join(["Handmade"] * 40)
    page.goto(host_site.write("named.html", HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
                              .replace("</main>", NAMED.format(long=long) + "</main>")))
    expected = {
        "#title": "About: heading “Kettle”",
        "#qty": "About: text field “Quantity”",  # its label, never what was typed in it
        "#x": "About: button “Close cart”",
        "#pic": "About: image “A red kettle”",
        "#long": f"About: paragraph “{long[:79]}…”",  # 80 characters at most
        "#hostile": 'About: paragraph “<img src=x onerror="document.body.dataset.pwned=1"> reversed”',  # no direction override
        "#blank": "About: div element",
        ".card:nth-of-type(2) .price": "About: paragraph “€ 59.00”",
    }
    for pick, about in expected.items():
        form = open_form(page, pick)
        expect(form.locator(".about")).to_have_text(about)
        expect(form).to_have_accessible_description(f"{about} {ANONYMOUS}")
        form.get_by_role("button", name="Cancel").click()
        expect(form).to_be_hidden()
    assert page.locator("[data-gf-widget]").evaluate("h => h.shadowRoot.querySelectorAll('.about *:not(bdi)').length") == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    form = open_form(page, ".card:nth-of-type(2) .price")
    form.get_by_label("Comment").fill("Is this the price with VAT?")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["selector"] == ann["capture"]["anchor"]["css"]
    assert page.locator(ann["selector"]).evaluate("e => e.textContent") == "€ 59.00"


ANONYMOUS = "Sending anonymously: the site does not know who you are. A name below is optional."


def test_the_form_says_who_the_feedback_is_sent_as(page, served, host_site):
    """Nothing in the form said who the feedback went as: a stakeholder (a visitor the site knows, by their link) saw no
    sign of it, and an anonymous visitor none that the site did not know them. The form says it now, and is described
    by it."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    page.goto(url)
    form = open_form(page, None)
    who = form.locator(".who")
    expect(who).to_have_text(ANONYMOUS)
    form.get_by_label("Name (optional)").fill("Ann")
    expect(who).to_have_text("Sending as Ann, the name you typed: the site does not know who you are.")
    form.get_by_role("button", name="Cancel").click()

    base = f"{proc.url}/api/widget/sites/{creds['site_id']}/stakeholders"
    sh = httpx.post(base, json={"name": "Dana", "auto_fix_default": "never"}, headers=bearer(creds["member_token"])).json()
    page.goto(f"{url}?gf_stakeholder={sh['token']}")
    expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()  # the link is remembered by now
    # Until the server has answered, the link is only a link.
    held: list = []
    page.route("**/config", lambda route: held.append(route))
    form = open_form(page, None)
    expect(who).to_have_text("Sending with your stakeholder link (the server has not confirmed it yet).")
    wait_until(lambda: page.evaluate("0") + len(held), lambda n: n == 1, what="the form's request for its config")
    held[0].continue_()
    page.unroute("**/config")
    expect(who).to_have_text("Sending as Dana.")
    expect(form).to_have_accessible_description("About: the whole page Sending as Dana.")
    # The server files a stakeholder's feedback under their stored name: a Name field would be ignored, so it is not shown.
    expect(form.get_by_label("Name (optional)")).to_be_hidden()
    form.get_by_label("Comment").fill("Sent as Dana")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["submitter"]["type"] == "stakeholder" and ann["submitter"]["name"] == "Dana"

    # A page whose tag names a stakeholder since revoked: its feedback goes as an anonymous visitor's, and it says so.
    page.goto(host_page(host_site, proc, creds, "revoked.html", extra=f'data-stakeholder-token="{sh["token"]}"'))
    assert httpx.delete(f"{base}/{sh['token']}", headers=bearer(creds["member_token"])).status_code == 204
    form = open_form(page, None)
    expect(who).to_have_text("Sending anonymously: this page's stakeholder link is no longer valid. A name below is optional.")
    expect(form.get_by_label("Name (optional)")).to_be_visible()


def test_a_stakeholder_whose_email_the_site_has_is_not_asked_for_one(page, served, host_site):
    """The Email field stayed for a stakeholder whose email the site has, though the server files their feedback under
    that email: what they typed there went nowhere. A stakeholder the site has no email of is still asked."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    base = f"{proc.url}/api/widget/sites/{creds['site_id']}/stakeholders"
    for stored, asked in ((None, True), ("dana@example.com", False)):
        sh = httpx.post(base, json={"name": "Dana", "email": stored}, headers=bearer(creds["member_token"])).json()
        page.goto(f"{url}?gf_stakeholder={sh['token']}")
        form = open_form(page, None)
        expect(form.locator(".who")).to_have_text("Sending as Dana.")
        email = form.get_by_label("Email (optional)")
        if asked:
            expect(email).to_be_visible()
            email.fill("typed@example.com")
        else:
            expect(email).to_be_hidden()
        form.get_by_label("Comment").fill(f"Sent as Dana, {stored}")
        ann_id = send(page, form)["id"]
        assert detail(proc, creds, ann_id)["submitter"]["has_email"]  # the API says only that there is one
        with opened(proc.data_dir) as wb:
            kept = wb.store.db.execute("SELECT submitter_email FROM annotations WHERE id = ?", [ann_id]).fetchone()[0]
        assert kept == (stored or "typed@example.com")


def test_the_forms_status_is_there_before_it_speaks_so_sent_or_queued_is_read_out(page, served, host_site):
    """The status ("Sending…", "Sent. Thank you!", "Saved in this browser…") was not drawn while empty: a live region
    added with its words in it is not read out, and a screen reader user never heard whether the feedback went."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, None)
    status = form.get_by_role("status")
    expect(status).to_have_text("")
    expect(status).to_be_attached()
    assert len(live_statuses(page)) == 1, "the form's status is not in the accessibility tree while it is empty"
    form.get_by_label("Comment").fill("Kettle price")
    send(page, form)
    expect(status).to_have_text("Sent. Thank you!")


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG's contrast ratio of two sRGB colours."""
    def luminance(c: tuple[int, ...]) -> float:
        lin = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c[:3]]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("background", [(255, 255, 255), (15, 23, 42)], ids=["light page", "dark page"])
def test_the_keyboards_focus_on_the_launcher_is_seen_on_a_light_page_and_a_dark_one(page, served, host_site, background):
    """The focus ring was indigo alone, 2 px off the launcher: 2.8:1 against a dark navy page, under the 3:1 a focus
    indicator needs to be seen (WCAG 1.4.11). The launcher and the pins sit on the page, whatever its colours."""
    from PIL import Image

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    page.goto(host_page(host_site, proc, creds))
    page.evaluate(f"document.body.style.background = 'rgb{background}'")
    launcher = page.get_by_role("button", name="Feedback", exact=True)
    expect(launcher).to_be_visible()
    for _ in range(10):  # from the page's own controls to the widget's, as a keyboard user goes
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == "Feedback":
            break
    expect(launcher).to_be_focused()
    box = launcher.bounding_box()
    assert box is not None
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    y = round(box["y"] + box["height"] / 2)
    around = [cast("tuple[int, int, int]", shot.getpixel((round(box["x"]) - dx, y))) for dx in range(1, 9)]
    best = max(contrast(px, background) for px in around)
    assert best >= 3, f"the focus ring is {best:.2f}:1 against the page: {around}"


@pytest.mark.parametrize("link", ["revoked", "mistyped"])
def test_a_stakeholder_link_that_no_longer_works_is_named_as_the_reason(page, served, host_site, link):
    """A stakeholder who opened the site through their link (remembered from `?gf_stakeholder=`) and whose link was
    revoked since, or mistyped, was told "Sending anonymously: the site does not know who you are", nothing about the
    link they came by: the browser forgot it without a word. The form names it, as for a tag's revoked token."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    base = f"{proc.url}/api/widget/sites/{creds['site_id']}/stakeholders"
    sh = httpx.post(base, json={"name": "Dana"}, headers=bearer(creds["member_token"])).json()
    token = sh["token"] if link == "revoked" else "gfsh_mistyped"
    page.goto(f"{host_page(host_site, proc, creds)}?gf_stakeholder={token}")
    expect(page.get_by_role("button", name="Feedback", exact=True)).to_be_visible()
    assert httpx.delete(f"{base}/{sh['token']}", headers=bearer(creds["member_token"])).status_code == 204
    form = open_form(page, None)
    who = form.locator(".who")
    expect(who).to_have_text("Sending anonymously: your stakeholder link is no longer valid. A name below is optional.")
    form.get_by_label("Name (optional)").fill("Dana")
    expect(who).to_have_text("Sending as Dana, the name you typed: your stakeholder link is no longer valid.")
    form.get_by_label("Comment").fill("Sent without the link")
    ann = detail(proc, creds, send(page, form)["id"])
    assert ann["submitter"] == {"name": "Dana", "type": "anonymous", "has_email": False}
