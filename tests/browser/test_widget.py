"""The site widget in Debian's Chromium: a host page on a second origin, a real `workbench serve`, the documented API."""

from __future__ import annotations

import struct
import subprocess
import sys
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import ServerProcess, bearer

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Acme shop</title>
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
    """The site owner's step: `workbench sites origins SITE --add ORIGIN`, against the served store."""
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


def image_size(data: bytes) -> tuple[str, int, int]:
    """The format and pixel size from a PNG's IHDR or a JPEG's SOF header (no imaging library needed)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i < len(data):
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", w, h
            i += 2 + length
    raise AssertionError(f"not a PNG or JPEG: {data[:16]!r}")


def open_form(page, pick: str | None = "#buy"):
    """Launcher, then the picker: click an element (or "Whole page"); returns the form."""
    page.get_by_role("button", name="Feedback", exact=True).click()
    if pick is None:
        page.get_by_role("button", name="Whole page").click()
    else:
        page.locator(pick).hover()
        expect(page.locator(".outline")).to_be_visible()
        page.locator(pick).click()
    form = page.get_by_role("dialog", name="Send feedback")
    expect(form).to_be_visible()
    return form


def send(page, form) -> dict:
    with page.expect_response(lambda r: r.url.endswith("/annotations") and r.request.method == "POST") as resp:
        form.get_by_role("button", name="Send").click()
    assert resp.value.status == 201, resp.value.text()
    return resp.value.json()


def test_pick_send_and_read_back_through_the_api(page, served, host_site):
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
    # The screenshot: a real image of the viewport.
    shot = (proc.data_dir / "uploads" / ann["screenshot_key"]).read_bytes()
    assert image_size(shot)[1:] == (1280, 800)
    # Name remembered for next time.
    page.reload()
    form = open_form(page, None)
    expect(form.get_by_label("Name (optional)")).to_have_value("Vera Visitor")


def test_the_scroll_of_the_screenshot_is_stored_so_the_element_can_be_pinned_on_it(page, served, host_site):
    from workbench.tui.widgets.pictures import pin_of

    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    tall = HOST_PAGE.format(base=proc.url, site=creds["site_id"], token=creds["widget_token"], extra="")
    url = host_site.write("tall.html", tall.replace("<main>", '<div style="height: 1500px"></div><main>')
                         .replace("</main>", '</main><div style="height: 1500px"></div>'))
    page.goto(url)
    page.evaluate("scrollTo(0, 1300)")
    page.wait_for_function("scrollY === 1300")
    form = open_form(page, "#buy")
    scrolled = page.evaluate("[scrollX, scrollY]")
    assert scrolled[1] > 0
    box = page.locator("#buy").evaluate("e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }")
    form.get_by_label("Comment").fill("Button too close to the price")
    expect(form.get_by_role("img", name="Screenshot")).to_be_visible(timeout=15_000)
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
    form.get_by_label("Attach or paste a screenshot").set_input_files(
        files=[{"name": "mine.png", "mimeType": "image/png", "buffer": TINY_PNG}])
    expect(form.get_by_text("Attached.")).to_be_visible()
    form.get_by_label("Comment").fill("See my picture")
    ann = detail(proc, creds, send(page, form)["id"])
    assert "scroll_y" not in ann["capture"]["viewport"] and ann["capture"]["viewport"]["width"] == 1280
    assert ann["screenshot_key"]


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


def test_offline_submission_is_delivered_exactly_once_after_a_restart(page, served, host_site):
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/annotations") and r.method == "POST" else None)
    page.goto(host_page(host_site, proc, creds))
    form = open_form(page, "#buy")
    form.get_by_label("Comment").fill("Sent while the server was down")
    proc.stop()  # the server goes away after the page loaded the widget
    form.get_by_role("button", name="Send").click()
    status = form.get_by_role("status")
    expect(status).to_contain_text("Saved in this browser", timeout=15_000)
    outbox = f"localStorage.getItem('gf:{creds['site_id']}:outbox')"
    assert page.evaluate(f"JSON.parse({outbox}).length") == 1
    restarted = ServerProcess(proc.data_dir, port=proc.port)
    try:
        expect(status).to_have_text("Sent. Thank you!", timeout=30_000)
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
    allow(proc, creds["site_id"], host_site.url)
    assert page.evaluate(attempt, [api, creds["widget_token"]]) == [201, 422]
    assert [a["body"] for a in site_annotations(proc, creds)] == ["cross-origin"]


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
    page.locator("#buy").click()
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_visible()


def test_a_submission_queued_on_an_earlier_visit_is_sent_once_when_the_app_next_loads(context, served, host_site):
    proc, creds = served
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
