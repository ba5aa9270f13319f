"""The review page behind feedbackUrl, in Chromium against a real `workbench serve` and its sample storefront."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import cast

import httpx
import pytest
from playwright.sync_api import Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.ax import live_statuses
from tests.browser.conftest import bootstrap, fresh_credentials
from tests.conftest import ServerProcess
from tests.session_helpers import bearer, wait_until

HERO = "Made slowly, used daily"


def start_round(url: str, store_key: str) -> dict:
    """A new feedback session over the API; returns it once its preview is deployed (in_review)."""
    started = httpx.post(f"{url}/api/v1/feedback-sessions", headers=bearer(store_key))
    assert started.status_code == 201, started.text
    sid = started.json()["id"]
    return wait_until(
        lambda: httpx.get(f"{url}/api/v1/feedback-sessions/{sid}", headers=bearer(store_key)).json(),
        lambda s: s["status"] != "created", what="the preview deployment",
    )


def review_token(session: dict) -> str:
    return session["feedbackUrl"].split("token=", 1)[1]


def agent_ready(page) -> None:
    """The preview's review agent has reported in (it answers the page's "what is under the pin?")."""
    page.locator("#frame-wrap[data-agent=ready]").wait_for(state="attached")


def pin_comment(page, target, text: str) -> None:
    """Add comment, click on ``target`` (a locator inside the preview), type, send; waits for it in the list."""
    page.get_by_role("button", name="Add comment").click()
    page.locator("#catcher").wait_for()
    box = target.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_label("Comment", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    page.locator("#list .comment", has_text=text).wait_for()


# The deploy command of the server the deploy-command tests share: each test writes the script its own store
# ({store_id}) runs, so one server start serves them all. The server hands the command its fields as ever; the
# review agent's URL and the widget's reach that script as $1 and $2.
DISPATCH = "sh {scripts}/{{store_id}}.sh {{agent_url}} {{widget_url}}"


@pytest.fixture(scope="module")
def deploying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Callable[[dict, str], None]]]:
    """A `workbench serve` whose previews come from a deploy command, and how a test makes ``script`` the
    deployment of its own credentials' store (``fresh_credentials`` on this server's data directory)."""
    root = tmp_path_factory.mktemp("deploying")
    data, scripts = root / "served", root / "deploy"
    data.mkdir()
    scripts.mkdir()
    bootstrap(data)
    proc = ServerProcess(data, env={"WORKBENCH_DEPLOY_COMMAND": DISPATCH.format(scripts=scripts)})

    def deploys(creds: dict, script: str) -> None:
        (scripts / f"{creds['store_id']}.sh").write_text(script, encoding="utf-8")

    yield proc, deploys
    proc.stop()


def test_a_pinned_comment_reaches_the_documented_list_with_its_page_and_pin(page, served):
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    assert session["status"] == "in_review"
    sid = session["id"]

    page.goto(session["feedbackUrl"])
    preview = page.frame_locator("#preview")
    preview.locator("#hero-title").wait_for()
    agent_ready(page)
    page.locator("h1").first.click()  # keys typed inside the preview's frame belong to the preview

    # `c` starts a comment; the reviewer's name is asked the first time only.
    page.keyboard.press("c")
    page.get_by_role("textbox", name="Name").fill("Ada Reviewer")
    page.get_by_role("button", name="Save").click()
    page.locator("#catcher").wait_for()
    box = preview.locator("#hero-title").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + box["height"] / 2)
    page.get_by_label("Comment", exact=True).fill("Make the hero heading larger and bold.")
    page.get_by_role("button", name="Send").click()
    page.locator("#list .comment", has_text="Make the hero heading larger").wait_for()
    page.locator("#pins .pin", has_text="1").wait_for()

    documented = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{sid}/comments", headers=bearer(key)).json()
    assert documented["meta"]["count"] == 1
    assert documented["data"][0]["content"] == "Make the hero heading larger and bold."
    assert documented["data"][0]["pagePath"] == "/"
    assert documented["data"][0]["status"] == "open"
    progress = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{sid}", headers=bearer(key)).json()["progress"]
    assert progress["total"] == 1 and progress["label"] == "0/1 resolved"

    pinned = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{sid}/comments",
                       headers={"X-Review-Token": review_token(session)}).json()["data"][0]
    assert pinned["reviewerName"] == "Ada Reviewer"
    assert 0 < pinned["pinX"] < 100 and 0 < pinned["pinY"] < 100
    assert pinned["offsetX"] == pytest.approx(20, abs=1.5)
    # The stored selector finds the element under the pin.
    assert preview.locator(pinned["selector"]).inner_text() == HERO

    # Another page of the storefront: its own path, the name is not asked again, pins follow the page.
    preview.locator("#cart-link").click()
    preview.get_by_role("heading", name="Your cart").wait_for()
    page.locator("#pins .pin").first.wait_for(state="detached")
    agent_ready(page)
    # The click left the keyboard in the preview's frame: its agent passes `c` and Esc up.
    preview.locator("h1").click()
    page.keyboard.press("c")
    page.locator("#catcher").wait_for()
    page.keyboard.press("Escape")
    page.locator("#catcher").wait_for(state="hidden")
    pin_comment(page, preview.locator("#checkout"), "The checkout button needs more contrast.")
    assert not page.locator("#name-dialog").is_visible()
    page.locator("#pins .pin", has_text="2").wait_for()

    documented = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{sid}/comments", headers=bearer(key)).json()
    by_content = {c["content"]: c for c in documented["data"]}
    assert by_content["The checkout button needs more contrast."]["pagePath"] == "/cart"
    pinned = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{sid}/comments",
                       headers={"X-Review-Token": review_token(session)}).json()["data"]
    cart = next(c for c in pinned if c["pagePath"] == "/cart")
    assert cart["reviewerName"] == "Ada Reviewer"
    assert preview.locator(cart["selector"]).get_attribute("id") == "checkout"
    progress = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{sid}", headers=bearer(key)).json()["progress"]
    assert progress["total"] == 2


def _read_only(page, feedback_url: str, reason: str) -> None:
    page.goto(feedback_url)
    expect(page.locator("#notice")).to_have_text(f"{reason}. The page is read-only.")
    assert page.get_by_role("button", name="Add comment").count() == 0 or not page.get_by_role("button", name="Add comment").is_visible()
    page.keyboard.press("c")
    assert not page.locator("#catcher").is_visible()
    assert not page.locator("#name-dialog").is_visible()


def test_the_review_page_loads_without_a_console_error(page, served):
    """QA: every reviewer's console showed "Failed to load resource: 404": the browser asked the server for a
    /favicon.ico it has not got. A console error there now is one to look into."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_round(page, session)  # the preview's agent reported in: the page's load event, and the icon's ask, are behind
    page.evaluate("() => fetch(location.href).then(r => r.text())")  # a request after the icon's, answered
    assert errors == []
    # A link that is not valid says so on a page whose only error is its own status.
    page.goto(session["feedbackUrl"].split("?")[0] + "?token=wbrv_not-this-one")
    expect(page.get_by_role("heading", name="This review link is not valid")).to_be_visible()
    page.evaluate("() => fetch(location.href).then(r => r.text())")
    assert errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"] * 2


def test_a_finalized_round_is_read_only_and_keeps_its_pins(page, served):
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    page.goto(session["feedbackUrl"])
    page.frame_locator("#preview").locator("#hero-title").wait_for()
    agent_ready(page)
    page.evaluate("localStorage.setItem('workbench.reviewerName', 'Bo')")
    pin_comment(page, page.frame_locator("#preview").locator("#hero-title"), "Hero copy reads well.")

    done = httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key))
    assert done.json()["status"] == "done"
    _read_only(page, session["feedbackUrl"], "Session is already done")
    page.locator("#list .comment", has_text="Hero copy reads well.").wait_for()
    page.locator("#pins .pin", has_text="1").wait_for()


def test_a_long_comment_shows_its_first_lines_until_asked_for_more(page, served):
    """QA: a 5,000-character comment was shown whole in the side list, every comment after it far out of reach."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    essay = " ".join(f"word{i}" for i in range(600))  # about 4,500 characters of the 5,000 taken
    for content in (essay, "Short and sweet."):
        sent = httpx.post(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                          headers={"X-Review-Token": review_token(session)}, json={"content": content, "pagePath": "/", "pinX": 10, "pinY": 10})
        assert sent.status_code == 201, sent.text
    page.goto(session["feedbackUrl"])
    long_item = page.locator("#list .comment").first
    more = long_item.get_by_role("button", name="Show more")
    expect(more).to_have_attribute("aria-expanded", "false")
    short = page.locator("#list .comment", has_text="Short and sweet.")
    expect(short.get_by_role("button", name="Show more")).to_have_count(0)  # a short one is shown whole, with no button
    cut = long_item.bounding_box()["height"]
    assert cut < 250 and short.bounding_box()["y"] < 740
    more.click()
    less = long_item.get_by_role("button", name="Show less")
    expect(less).to_have_attribute("aria-expanded", "true")
    assert long_item.bounding_box()["height"] > 4 * cut
    less.click()
    expect(long_item.get_by_role("button", name="Show more")).to_be_visible()
    assert long_item.bounding_box()["height"] == cut

def test_a_round_whose_preview_failed_is_read_only(page, deploying):
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    deploys(creds, "echo 'build failed' >&2; exit 3")
    session = start_round(proc.url, creds["store_api_key"])
    assert session["status"] == "interrupted"
    assert session["errorMessage"] == "build failed"  # this store's script failed, not the way to it
    _read_only(page, session["feedbackUrl"], "Session is already interrupted")
    # QA: where the preview would be, an empty white box, as if one were still loading.
    expect(page.locator("#frame-note")).to_have_text("No preview: this round ended before its preview was deployed.")
    expect(page.locator("#frame-note")).to_be_visible()


def test_a_round_being_prepared_says_preparing_and_is_read_only_until_its_preview_is_deployed(page, deploying, tmp_path):
    """The documents call `created` the preparing phase; the page's badge said "created", a word about the
    server's record, to a reviewer who came too early."""
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    gate = tmp_path / "go"
    # Deployed once the test says so (the shell's own wait); the page it deploys does not matter here.
    deploys(creds, f"while [ ! -e {gate} ]; do sleep 0.05; done; echo {proc.url}/")
    started = httpx.post(f"{proc.url}/api/v1/feedback-sessions", headers=bearer(creds["store_api_key"]))
    assert started.status_code == 201 and started.json()["status"] == "created", started.text
    try:
        _read_only(page, started.json()["feedbackUrl"], "Session is still preparing: reviewers can comment once the preview is deployed")
        expect(page.locator("#status")).to_have_text("preparing")
    finally:
        gate.touch()
    # Deployed, the page's 15 s refresh would show it; a reload shows it now.
    wait_until(lambda: httpx.get(f"{proc.url}/api/v1/feedback-sessions/{started.json()['id']}",
                                 headers=bearer(creds["store_api_key"])).json()["status"], lambda s: s == "in_review",
               what="the preview deployed")
    page.reload()
    expect(page.locator("#status")).to_have_text("in review")
    expect(page.get_by_role("button", name="Add comment")).to_be_visible()


def test_phone_width(browser, served):
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    # Pinned at desktop width: its percentages (deliberately far off here) no longer match a
    # reflowed phone layout, its selector and offset still do.
    earlier = httpx.post(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                         headers={"X-Review-Token": review_token(session)},
                         json={"content": "Tighter heading.", "pagePath": "/", "selector": "#hero-title",
                               "offsetX": 12, "offsetY": 10, "pinX": 95, "pinY": 95})
    assert earlier.status_code == 201, earlier.text
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(session["feedbackUrl"])
        preview = page.frame_locator("#preview")
        preview.locator("#hero-title").wait_for()
        agent_ready(page)
        # Nothing wider than the phone: no sideways scrolling of the page itself.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        heading = preview.locator("#hero-title").bounding_box()
        pin = page.locator("#pins .pin", has_text="1")
        pin.wait_for()
        tip = pin.bounding_box()
        assert heading is not None and tip is not None
        assert tip["x"] + tip["width"] / 2 == pytest.approx(heading["x"] + 12, abs=2)
        assert tip["y"] + tip["height"] == pytest.approx(heading["y"] + 10, abs=2)
        add = page.get_by_role("button", name="Add comment")
        box = add.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        expect(page.locator("#add kbd")).to_be_hidden()  # no `c` key to press on a phone
        # A name with no space to wrap at (an email, say), shown in the header once the send redraws it.
        long_name = "bartholomew.fitzgeraldworthington@examplecompany.com"
        page.evaluate("name => localStorage.setItem('workbench.reviewerName', name)", long_name)
        add.click()
        expect(page.locator("#hint")).to_have_text("Tap where your comment belongs.")
        add.click()
        pin_comment(page, preview.locator("#hero-title"), "Too big on a phone.")
        item = page.locator("#list .comment", has_text="Too big on a phone.").bounding_box()
        assert item is not None and item["x"] + item["width"] <= 375
        expect(page.locator("#who")).to_have_text(f"Commenting as {long_name}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        pinned = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                           headers={"X-Review-Token": review_token(session)}).json()["data"]
        assert pinned[1]["reviewerName"] == long_name and pinned[1]["pagePath"] == "/"
    finally:
        context.close()


def test_pins_are_drawn_once_the_preview_has_placed_them_not_at_a_guess_before(page, served):
    """QA: as the preview loaded (a blank frame on a slow phone) and until its agent answered, each pin stood at
    its stored share of the frame and then jumped onto its element: pins floating over nothing. They now wait for
    the agent, and a preview that has none gets them at their shares after a second."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    # Its share (95 %, 95 %) is far from its element, so a pin drawn at a guess is told apart from one placed.
    pinned = httpx.post(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                        headers={"X-Review-Token": review_token(session)},
                        json={"content": "Tighter heading.", "pagePath": "/", "selector": "#hero-title",
                              "offsetX": 12, "offsetY": 10, "pinX": 95, "pinY": 95})
    assert pinned.status_code == 201, pinned.text
    held: list[Route] = []  # the preview's agent (the widget's app, in review mode) held back: it cannot answer yet

    def agent(url: str) -> bool:
        return "/widget/app." in url

    page.route(agent, lambda route: held.append(route))
    page.goto(session["feedbackUrl"])
    page.locator("#list .comment", has_text="Tighter heading.").wait_for()
    page.frame_locator("#preview").locator("#hero-title").wait_for()
    # Each evaluate lets Playwright's loop hand the intercepted request to the route.
    wait_until(lambda: page.evaluate("0") + len(held), lambda n: n == 1, what="the preview's request for its agent")
    assert page.locator("#pins .pin").count() == 0

    held[0].continue_()
    pin = page.locator("#pins .pin[data-placed=element]", has_text="1")
    pin.wait_for()
    expect(page.locator("#frame-wrap")).to_have_attribute("data-pins", "shown")
    heading = page.frame_locator("#preview").locator("#hero-title").bounding_box()
    tip = pin.bounding_box()
    assert heading is not None and tip is not None
    assert tip["x"] + tip["width"] / 2 == pytest.approx(heading["x"] + 12, abs=2)

    # A preview whose agent never comes: the pin at its share of the page, after the wait.
    page.unroute(agent)
    page.route(agent, lambda route: route.abort())
    page.reload()
    page.locator("#pins .pin[data-placed=share]", has_text="1").wait_for()
    assert page.locator("#frame-wrap").get_attribute("data-agent") is None


def test_a_comments_buttons_are_a_fingers_size_at_phone_width(browser, served):
    """At phone width a comment's page button ("/") was 4 px wide and 18 px high, right under Show more: a finger
    meant for one could land on the other."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, " ".join(["Too long to show whole."] * 30), pinX=20, pinY=20)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(session["feedbackUrl"])
        page.get_by_role("button", name="Comments (1)").tap()
        item = page.locator("#list .comment").first
        more, where = item.get_by_role("button", name="Show more"), item.get_by_role("button", name="Show page / in the preview")
        boxes = [more.bounding_box(), where.bounding_box()]
        assert all(b is not None and b["width"] >= 24 and b["height"] >= 24 for b in boxes), boxes
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        where.tap()
        expect(item).to_have_attribute("aria-current", "true")
        page.get_by_role("button", name="Comments (1)").tap()  # the page's tap showed the preview (the comments take turns with it)
        expect(more).to_have_attribute("aria-expanded", "false")
    finally:
        context.close()


def test_a_wrong_token_gets_a_clear_page(page, served):
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    response = page.goto(f"{proc.url}/review/{session['id']}?token=wrong")
    assert response is not None and response.status == 401
    page.get_by_text("This review link is not valid").wait_for()


# "$1" is the {agent_url} the server gave the deploy command (DISPATCH).
AGENT_PAGE = ("printf '<!doctype html><title>Shop</title><script src=\"%s\" defer></script>"
              "<main><h1 id=\"hero-title\">Hello shop</h1><p>Other origin</p></main>' \"$1\" > {root}/index.html"
              " && echo {url}/index.html")


@pytest.mark.parametrize("with_agent", [True, False], ids=["agent", "no-agent"])
def test_a_preview_on_another_origin(page, deploying, host_site, with_agent):
    """The deploy command puts the preview on a second origin; with the agent's tag ({agent_url}) pins get selectors."""
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    if with_agent:
        deploys(creds, AGENT_PAGE.replace("{root}", str(host_site.root)).replace("{url}", host_site.url))
    else:
        host_site.write("index.html", "<!doctype html><title>Shop</title><main><h1 id='hero-title'>Hello shop</h1></main>")
        deploys(creds, f"echo {host_site.url}/index.html")
    session = start_round(proc.url, creds["store_api_key"])
    assert session["deploymentUrl"] == f"{host_site.url}/index.html"
    page.goto(session["feedbackUrl"])
    preview = page.frame_locator("#preview")
    preview.locator("#hero-title").wait_for()
    if with_agent:
        agent_ready(page)
    page.evaluate("localStorage.setItem('workbench.reviewerName', 'Cy')")
    pin_comment(page, preview.locator("#hero-title"), "Say what the shop sells.")
    pinned = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                       headers={"X-Review-Token": review_token(session)}).json()["data"][0]
    assert 0 < pinned["pinX"] < 100 and 0 < pinned["pinY"] < 100
    if with_agent:
        assert pinned["pagePath"] == "/"  # the deployment URL's own path is the preview's root
        assert preview.locator(pinned["selector"]).inner_text() == "Hello shop"
    else:
        # Without the agent nothing inside the other origin can be read: no selector, and the page says so.
        assert pinned["selector"] is None
        page.get_by_text("The preview does not run the review agent").wait_for()


# The preview carries only the site widget's tag: in review mode (data-mode="review", no site needed), or
# the site's own widget tag, which answers the review page as well once that page speaks to it.
WIDGET_TAGS = {
    "review-mode": '<script src="%s" data-mode="review" async></script>',
    "site-widget": '<script src="%s" data-site="{site}" data-widget-token="{token}" async></script>',
}
# "$2" is the {widget_url} the server gave the deploy command (DISPATCH).
WIDGET_PAGE = ("printf '<!doctype html><title>Shop</title>{tag}"
               "<main><h1 id=\"hero-title\">Hello shop</h1><p>Other origin</p></main>' \"$2\" > {root}/index.html"
               " && echo {url}/index.html")


@pytest.mark.parametrize("tag", list(WIDGET_TAGS))
def test_a_preview_on_another_origin_with_only_the_widget(page, deploying, host_site, tag):
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    element = WIDGET_TAGS[tag].replace("{site}", creds["site_id"]).replace("{token}", creds["widget_token"])
    deploys(creds, WIDGET_PAGE.replace("{tag}", element).replace("{root}", str(host_site.root)).replace("{url}", host_site.url))
    # The comment pinned before: the widget must say where its element is now (the pin follows it).
    session = start_round(proc.url, creds["store_api_key"])
    assert "/widget.js" in (host_site.root / "index.html").read_text()
    assert "agent.js" not in (host_site.root / "index.html").read_text()
    earlier = httpx.post(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                         headers={"X-Review-Token": review_token(session)},
                         json={"content": "Earlier.", "pagePath": "/", "selector": "#hero-title",
                               "offsetX": 30, "offsetY": 5, "pinX": 99, "pinY": 99})
    assert earlier.status_code == 201, earlier.text
    page.goto(session["feedbackUrl"])
    preview = page.frame_locator("#preview")
    preview.locator("#hero-title").wait_for()
    agent_ready(page)
    heading = preview.locator("#hero-title").bounding_box()
    first = page.locator("#pins .pin", has_text="1")
    first.wait_for()
    tip = first.bounding_box()
    assert heading is not None and tip is not None
    assert tip["x"] + tip["width"] / 2 == pytest.approx(heading["x"] + 30, abs=2)
    # The visitor's launcher steps aside inside the review page: reviewers use Add comment.
    if tag == "site-widget":
        expect(preview.locator("[data-gf-widget]")).to_be_attached()
    expect(preview.get_by_role("button", name="Feedback", exact=True)).to_have_count(0)

    page.evaluate("localStorage.setItem('workbench.reviewerName', 'Di')")
    pin_comment(page, preview.locator("#hero-title"), "Name the shop in the heading.")
    pinned = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                       headers={"X-Review-Token": review_token(session)}).json()["data"]
    mine = next(c for c in pinned if c["content"] == "Name the shop in the heading.")
    assert mine["pagePath"] == "/" and mine["selector"]
    assert preview.locator(mine["selector"]).inner_text() == "Hello shop"
    assert 0 < mine["pinX"] < 100 and 0 < mine["pinY"] < 100
    # Keys typed in the preview reach the review page through the widget too.
    preview.locator("h1").click()
    page.keyboard.press("c")
    page.locator("#catcher").wait_for()
    page.keyboard.press("Escape")
    page.locator("#catcher").wait_for(state="hidden")


def test_the_widget_answers_no_page_but_the_review_page(page, served, host_site):
    """A page on another origin framing a preview gets no answer, and cannot make the widget step aside."""
    proc, creds = served
    host_site.write("index.html", (
        "<!doctype html><title>Shop</title>"
        f'<script src="{proc.url}/widget.js" data-site="{creds["site_id"]}" data-widget-token="{creds["widget_token"]}" async>'
        "</script><main><h1 id='hero-title'>Hello shop</h1></main>"))
    evil = host_site.write("evil.html", (
        "<!doctype html><title>Evil</title><iframe id='f' src='index.html' width='800' height='600'></iframe>"
        "<script>window.got = []; window.addEventListener('message', (e) => window.got.push(e.data));</script>"))
    page.goto(evil)
    frame = page.frame_locator("#f")
    launcher = frame.get_by_role("button", name="Feedback", exact=True)
    launcher.wait_for()  # the widget has started (after the preview's load)
    child = next(f for f in page.frames if f.url.endswith("/index.html"))
    # Messages from one window to another arrive in order: once the marker is seen, the others were handled,
    # and anything the widget answered was posted before the frame's "done".
    child.evaluate("""() => addEventListener('message', (e) => {
        if (e.data === 'marker') parent.postMessage('done', '*');
    })""")
    page.evaluate("""() => {
        const w = document.getElementById('f').contentWindow;
        w.postMessage({type: 'gf-review:hello'}, '*');
        w.postMessage({type: 'gf-review:anchors', items: []}, '*');
        w.postMessage({type: 'gf-review:locate', id: 1, x: 20, y: 20}, '*');
        w.postMessage('marker', '*');
    }""")
    page.wait_for_function("window.got.includes('done')")
    assert page.evaluate("window.got") == ["done"]
    expect(launcher).to_be_visible()


def open_round(page, session: dict, name: str | None = "Eve") -> None:
    """The review page of ``session`` with its preview's agent ready; ``name``: the reviewer's, as if asked before."""
    page.goto(session["feedbackUrl"])
    page.frame_locator("#preview").locator("#hero-title").wait_for()
    agent_ready(page)
    if name is not None:
        page.evaluate(f"localStorage.setItem('workbench.reviewerName', {name!r})")


def compose_at_centre(page) -> None:
    """Start a comment by the keyboard alone: `c`, then Enter places the pin at the preview's centre."""
    page.keyboard.press("c")
    page.locator("#catcher").wait_for()
    page.keyboard.press("Enter")


def post_comment(url: str, session: dict, content: str, **pin: object) -> dict:
    """A comment sent by another reviewer, through the reviewers' endpoint."""
    made = httpx.post(f"{url}/api/widget/feedback-sessions/{session['id']}/comments",
                      headers={"X-Review-Token": review_token(session)},
                      json={"content": content, "pagePath": "/", **pin})
    assert made.status_code == 201, made.text
    return made.json()


def focused(page) -> dict:
    """What has the keyboard in the review page: the element's id, class, and the comment (list item) it is in."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        const item = e.closest('li.comment');
        return {id: e.id, cls: e.className, tag: e.tagName, comment: item ? item.dataset.id : null};
    }""")


def move_cursor_to(page, x: float, y: float) -> None:
    """Arrow keys (Shift for the long way) until the pin cursor's tip is within a step of (x, y), page px."""
    for _ in range(2):  # the long way first, then single steps
        box = page.locator("#cursor").bounding_box()
        assert box is not None
        dx, dy = x - (box["x"] + box["width"] / 2), y - (box["y"] + box["height"])
        for delta, ahead, back in ((dx, "ArrowRight", "ArrowLeft"), (dy, "ArrowDown", "ArrowUp")):
            key = ahead if delta > 0 else back
            steps = int(abs(delta) // 50) if _ == 0 else round(abs(delta) / 10)
            for _step in range(steps):
                page.keyboard.press(f"Shift+{key}" if _ == 0 else key)


def test_a_comment_is_placed_with_the_keyboard_alone(page, served):
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session, name=None)
    preview = page.frame_locator("#preview")

    # Keys typed in the preview start placing too, and the arrow keys then move the page's pin cursor, not the preview.
    preview.locator("h1").click()
    page.keyboard.press("c")
    page.get_by_role("textbox", name="Name").fill("Kim Keyboard")
    page.keyboard.press("Enter")
    cursor = page.locator("#cursor")
    expect(cursor).to_be_visible()
    assert focused(page)["id"] == "catcher"
    left = cursor.evaluate("e => parseFloat(e.style.left)")
    page.keyboard.press("ArrowRight")
    expect(cursor).to_have_css("left", f"{left + 10:g}px")
    page.keyboard.press("Escape")
    page.locator("#catcher").wait_for(state="hidden")
    assert focused(page)["id"] == "add"  # not lost on the hidden catcher

    # From Add comment: Enter starts placing, the hint says how, arrows move the cursor onto the heading, Enter drops it.
    page.keyboard.press("Enter")
    expect(page.locator("#hint")).to_contain_text("arrow keys")
    expect(page.locator("#hint")).to_contain_text("press Enter")
    heading = preview.locator("#hero-title").bounding_box()
    assert heading is not None
    move_cursor_to(page, heading["x"] + 40, heading["y"] + heading["height"] / 2)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()
    page.keyboard.type("Keyboard-placed: the heading could be warmer.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Send
    item = page.locator("#list .comment", has_text="Keyboard-placed")
    item.wait_for()
    page.locator("#pins .pin", has_text="1").wait_for()

    stored = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                       headers={"X-Review-Token": review_token(session)}).json()["data"][0]
    assert stored["reviewerName"] == "Kim Keyboard" and stored["pagePath"] == "/"
    assert preview.locator(stored["selector"]).inner_text() == HERO
    assert stored["offsetX"] == pytest.approx(40, abs=10)
    # After Send the keyboard is on the new comment in the list, not on the page's body.
    assert focused(page)["comment"] == stored["id"]


def test_cancel_discards_the_draft(page, served):
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    preview = page.frame_locator("#preview")
    text = page.get_by_label("Comment", exact=True)
    for close in ("Escape", "Cancel"):
        page.keyboard.press("c")
        page.locator("#catcher").wait_for()
        box = preview.locator("#hero-title").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 30, box["y"] + 10)
        text.fill(f"Draft about the hero title ({close})")
        if close == "Escape":
            page.keyboard.press("Escape")
        else:
            page.get_by_role("button", name="Cancel").click()
        expect(page.locator("#compose")).to_be_hidden()
        expect(page.locator("#pins .pin.pending")).to_have_count(0)
        # The next comment, at another spot, starts empty: the draft is not carried to an element it was not about.
        page.keyboard.press("c")
        page.locator("#catcher").wait_for()
        box = preview.get_by_role("heading", name="Bestsellers").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 10, box["y"] + 10)
        expect(text).to_be_visible()
        expect(text).to_have_value("")
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator("#compose")).to_be_hidden()
        expect(page.get_by_role("button", name="Add comment")).to_be_focused()


def test_a_refresh_keeps_the_keyboard_on_the_same_comment(page, served):
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    first = post_comment(proc.url, session, "First: the logo is blurry.")
    second = post_comment(proc.url, session, "Second: prices need a currency.")
    open_round(page, session)
    page.locator("#list .comment", has_text="Second:").get_by_role("button", name="Show page / in the preview").focus()
    assert focused(page) == {"id": "", "cls": "link page", "tag": "BUTTON", "comment": second["id"]}

    def refreshed() -> None:
        """The page re-reads the round as it does every 15 s (and when the tab comes back)."""
        with page.expect_response(lambda r: r.url.endswith("/comments") and r.request.method == "GET") as answer:
            page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        answer.value.finished()

    # Nothing changed: nothing is redrawn, the very same button keeps the focus.
    page.evaluate("window.heldButton = document.activeElement")
    refreshed()
    page.wait_for_function("document.activeElement === window.heldButton")
    # A comment came in: the list is redrawn and the focus stays with the same comment's page button.
    third = post_comment(proc.url, session, "Third: the footer is hard to read.")
    refreshed()
    page.locator("#list .comment", has_text="Third:").wait_for()
    assert focused(page) == {"id": "", "cls": "link page", "tag": "BUTTON", "comment": second["id"]}
    assert page.evaluate("document.activeElement !== window.heldButton")  # a new button, of the same comment
    assert {first["id"], third["id"]}.isdisjoint({focused(page)["comment"]})


def test_pins_on_one_spot_stay_apart_and_lead_to_their_comment(page, served):
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    spot = {"selector": "#hero-title", "offsetX": 60, "offsetY": 10, "pinX": 30, "pinY": 20}
    made = [post_comment(proc.url, session, f"Same spot, comment {n}.", **spot) for n in (1, 2, 3)]
    for n in range(4, 16):  # enough to scroll the list
        post_comment(proc.url, session, f"Elsewhere {n}.", selector="footer", pinX=50, pinY=95)
    page.set_viewport_size({"width": 1280, "height": 600})
    open_round(page, session)
    pins = [page.get_by_role("button", name=f"Comment {n}", exact=True) for n in (1, 2, 3)]
    for pin in pins:
        pin.wait_for()
    boxes = [pin.bounding_box() for pin in pins]
    assert all(b is not None for b in boxes)
    # Fanned out to the right, each number readable; the first stays on its spot.
    assert boxes[1]["x"] - boxes[0]["x"] >= 12 and boxes[2]["x"] - boxes[1]["x"] >= 12
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]
    for pin, n in zip(pins, (1, 2, 3), strict=True):
        expect(pin).to_have_text(str(n))

    # A click on a pin: its comment in the list is highlighted and has the focus.
    pins[1].click()
    entry = page.locator("#list .comment", has_text="Same spot, comment 2.")
    expect(entry).to_have_attribute("aria-current", "true")
    expect(entry).to_be_focused()
    # Enter on another pin: that one's entry, scrolled into view.
    page.locator("#list").evaluate("e => e.closest('.side').scrollTop = e.closest('.side').scrollHeight")
    pins[0].focus()
    page.keyboard.press("Enter")
    entry = page.locator("#list .comment", has_text="Same spot, comment 1.")
    expect(entry).to_have_attribute("aria-current", "true")
    expect(entry).to_be_focused()
    expect(entry).to_be_in_viewport()
    assert page.locator("#list .comment[aria-current=true]").count() == 1
    assert focused(page)["comment"] == made[0]["id"]
    # And the list leads to the pin: a comment's page, the one in view, marks that comment's pin.
    third = page.locator("#list .comment", has_text="Same spot, comment 3.")
    third.get_by_role("button", name="Show page / in the preview").click()
    expect(third).to_have_attribute("aria-current", "true")
    expect(pins[2]).to_have_class("pin current")
    expect(pins[0]).to_have_class("pin")


def test_tab_reaches_the_comments_and_pins_before_the_links_in_the_preview(page, served):
    """QA: from Add comment, Tab went through every link of the store in the frame (the sample storefront's home page
    alone has a dozen) before it reached a pin or the comment list."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    made = post_comment(proc.url, session, "The heading could be warmer.", selector="#hero-title", offsetX=20, offsetY=10,
                        pinX=30, pinY=20)
    open_round(page, session)
    pin = page.get_by_role("button", name="Comment 1", exact=True)
    pin.wait_for()
    page.get_by_role("button", name="Add comment").focus()
    page.keyboard.press("Tab")
    assert focused(page) == {"id": "", "cls": "link page", "tag": "BUTTON", "comment": made["id"]}
    page.keyboard.press("Tab")
    expect(pin).to_be_focused()
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "preview"  # the frame, last: its links from here on
    assert page.frame_locator("#preview").locator(":focus").evaluate("e => e.tagName") == "A"
    page.keyboard.press("Shift+Tab")
    expect(pin).to_be_focused()
    # Still drawn where they were: the list on the right, the pin over its heading in the preview.
    side, stage = page.locator(".side").bounding_box(), page.locator(".stage").bounding_box()
    heading = page.frame_locator("#preview").locator("#hero-title").bounding_box()
    tip = pin.bounding_box()
    assert side is not None and stage is not None and heading is not None and tip is not None
    assert side["x"] >= stage["x"] + stage["width"] - 1
    assert tip["x"] + tip["width"] / 2 == pytest.approx(heading["x"] + 20, abs=2)


def test_a_send_while_the_server_is_down_says_so_plainly(page, served_alone):
    proc, creds = served_alone
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    expect(page.locator("#add kbd")).to_be_visible()  # the key hint, at desktop width with a mouse
    preview = page.frame_locator("#preview")
    page.get_by_role("button", name="Add comment").click()
    page.locator("#catcher").wait_for()
    box = preview.locator("#hero-title").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + 10)
    page.get_by_label("Comment", exact=True).fill("Sent while offline.")
    proc.stop()
    again = None
    try:
        page.get_by_role("button", name="Send").click()
        error = page.locator("#compose-error")
        expect(error).to_contain_text("the server could not be reached")
        expect(error).not_to_contain_text("Failed to fetch")
        expect(page.get_by_label("Comment", exact=True)).to_have_value("Sent while offline.")
        # The page's own re-read says it too, in words, and that it tries again.
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        expect(page.locator("#notice")).to_contain_text("The server could not be reached")
        expect(page.locator("#notice")).to_contain_text("tries again every 15 seconds")
        again = ServerProcess(proc.data_dir, port=proc.port)
        page.get_by_role("button", name="Send").click()
        page.locator("#list .comment", has_text="Sent while offline.").wait_for()
        expect(error).to_be_hidden()
    finally:
        if again is not None:
            again.stop()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_placing_a_pin_does_not_move_the_preview(browser, served, viewport):
    """The how-to line was a row above the preview: pressing Add comment pushed the preview down (and shortened it)
    just as the reviewer aimed at it, and it jumped back when the comment form opened."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    context = browser.new_context(viewport=viewport, has_touch=viewport["width"] < 600, is_mobile=viewport["width"] < 600)
    try:
        page = context.new_page()
        page.goto(session["feedbackUrl"])
        agent_ready(page)
        page.evaluate("localStorage.setItem('workbench.reviewerName', 'Ed')")
        frame = page.locator("#preview")
        before = frame.bounding_box()
        page.get_by_role("button", name="Add comment").click()
        expect(page.locator("#hint")).to_be_visible()
        assert frame.bounding_box() == before
        # The how-to lies over the preview without taking its clicks: a pin can go under it.
        hint = page.locator("#hint").bounding_box()
        assert hint is not None
        page.mouse.click(hint["x"] + 5, hint["y"] + hint["height"] / 2)
        expect(page.get_by_role("dialog", name="New comment")).to_be_visible()
    finally:
        context.close()


def test_right_to_left_words_read_right_to_left(page, served):
    """QA: a Hebrew comment was laid out left to right, in the list and in the comment box: left-aligned, its closing
    question mark drawn at its start; so was a Hebrew reviewer's name."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "אפשר להגדיל את הכותרת?", reviewerName="שרה.", pinX=10, pinY=10)
    post_comment(proc.url, session, "Make the heading larger?", reviewerName="Sam", pinX=20, pinY=20)
    open_round(page, session, name=None)
    hebrew = page.locator("#list .comment", has_text="אפשר")
    english = page.locator("#list .comment", has_text="Make the heading")
    expect(hebrew.locator(".content")).to_have_css("direction", "rtl")
    expect(hebrew.locator(".meta bdi")).to_have_css("direction", "rtl")
    expect(english.locator(".content")).to_have_css("direction", "ltr")
    expect(page.locator("#list .meta").first).to_have_css("direction", "ltr")  # the line around the name stays ours
    page.keyboard.press("c")
    name = page.get_by_role("textbox", name="Name")
    name.fill("מרים")
    expect(name).to_have_css("direction", "rtl")
    page.keyboard.press("Enter")
    expect(page.locator("#who bdi")).to_have_css("direction", "rtl")
    page.locator("#catcher").wait_for()
    page.keyboard.press("Enter")
    box = page.get_by_label("Comment", exact=True)
    box.fill("הכפתור קטן מדי!")
    expect(box).to_have_css("direction", "rtl")


def test_a_busy_or_failing_server_is_explained_in_words_and_the_comment_is_kept(page, served):
    """QA: a 429 showed the limiter's "Rate limit exceeded: per-IP bucket (30 requests per 60s)", a 413 its byte cap,
    and a proxy's 502 (an HTML page) or an unhandled 500 just "The server answered 502"."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    api = f"**/api/widget/feedback-sessions/{session['id']}/comments"

    def answers(status: int, body: str, method: str, headers: dict | None = None) -> None:
        """The next requests of ``method`` to the comments get this answer (as the server's limits or a proxy give it)."""
        page.unroute(api)
        page.route(api, lambda route: route.fulfill(status=status, body=body, headers=headers or {},
                                                    content_type="application/json" if body.startswith("{") else "text/html")
                   if route.request.method == method else route.fallback())

    preview = page.frame_locator("#preview")
    page.keyboard.press("c")
    page.locator("#catcher").wait_for()
    box = preview.locator("#hero-title").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + 10)
    page.get_by_label("Comment", exact=True).fill("Sent to a busy server.")
    error = page.locator("#compose-error")
    send = page.get_by_role("button", name="Send")

    answers(429, '{"detail": "Rate limit exceeded: per-IP bucket (30 requests per 60s)"}', "POST", {"Retry-After": "42"})
    send.click()
    expect(error).to_have_text("Not sent. The server is taking too many requests from this network just now. "
                               "Your comment is kept here; press Send again in 42 seconds.")
    expect(send).to_be_focused()  # disabled while sending, it had dropped the keyboard on the page behind the dialog
    answers(502, "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>", "POST")
    send.click()
    expect(error).to_have_text("Not sent. The server ran into a problem (HTTP 502). Your comment is kept here; press Send again in a moment.")
    answers(413, '{"detail": "Request body too large: this endpoint accepts at most 1048576 bytes"}', "POST")
    send.click()
    expect(error).to_have_text("Not sent. The comment is too large for the server. Shorten it and press Send again.")
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()  # the text to shorten
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Sent to a busy server.")

    # The page's own re-read, refused, says the list may be stale and that it tries again.
    answers(429, '{"detail": "Rate limit exceeded: per-IP bucket (30 requests per 60s)"}', "GET", {"Retry-After": "42"})
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator("#notice")).to_have_text("The server is taking too many requests from this network just now. "
                                                 "The comments shown may be out of date; this page tries again every 15 seconds.")

    page.unroute(api)
    send.click()
    page.locator("#list .comment", has_text="Sent to a busy server.").wait_for()
    expect(page.locator("#notice")).to_be_hidden()


def test_a_send_the_server_never_answers_is_given_up_in_words_and_the_comment_kept(page, served):
    """QA: a server (or a proxy before it) that took the comment's connection and never answered left Send disabled
    for good, with no word of what was going on; the page's own re-reads piled up the same way."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    page.clock.install()  # the page's real minute of patience, passed at once with fast_forward
    open_round(page, session)
    api = f"**/api/widget/feedback-sessions/{session['id']}/comments"
    # A route never fulfilled: the request waits as on a server that hangs.
    page.route(api, lambda route: None if route.request.method == "POST" else route.fallback())
    compose_at_centre(page)
    text = page.get_by_label("Comment", exact=True)
    text.fill("Sent to a server that never answers.")
    send = page.get_by_role("button", name="Send")
    error = page.locator("#compose-error")
    send.focus()
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")):
        page.keyboard.press("Enter")
    expect(send).to_be_disabled()
    page.clock.fast_forward(60_000)
    expect(error).to_have_text("The server did not answer within 60 seconds, so this comment may or may not be stored. "
                               "It is kept here; press Send again, which never stores it twice.")
    expect(send).to_be_enabled()
    expect(send).to_be_focused()  # not dropped on the page behind the dialog: Enter sends again
    expect(text).to_have_value("Sent to a server that never answers.")

    # The page's own re-read, unanswered, says so as well.
    page.unroute(api)
    page.route(api, lambda route: None)
    with page.expect_request(lambda r: r.method == "GET" and r.url.endswith("/comments")):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.clock.fast_forward(60_000)
    expect(page.locator("#notice")).to_have_text("The server did not answer within 60 seconds, so the comments shown may be out of "
                                                 "date. This page tries again every 15 seconds.")

    page.unroute(api)
    expect(send).to_be_focused()  # a notice takes no focus
    page.keyboard.press("Enter")
    page.locator("#list .comment", has_text="Sent to a server that never answers.").wait_for()
    expect(page.locator("#notice")).to_be_hidden()


def typing_a_comment(page, proc, creds: dict, words: str):
    """A round opened on the review page and ``words`` typed in a new comment's box, not sent: the round, its
    store's key and the box."""
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    open_round(page, session)
    compose_at_centre(page)
    text = page.get_by_label("Comment", exact=True)
    text.fill(words)
    return session, key, text


def test_a_comment_sent_after_the_round_closed_says_it_was_not_sent_and_the_page_turns_read_only(page, served):
    """QA: finalized while a reviewer typed, Send showed only "Session is already done" under the text, Send stayed
    enabled for nothing, and the page behind still said IN REVIEW with Add comment."""
    proc, creds = served
    session, key, text = typing_a_comment(page, proc, creds, "Typed while the round closed.")
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#compose-error")).to_have_text(
        "Not sent. Session is already done. Copy your text to keep it.")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(text).to_have_value("Typed while the round closed.")
    expect(text).to_be_focused()  # the text to copy, not the page behind the dialog
    expect(page.locator("#status")).to_have_text("done")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#notice")).to_have_text("Session is already done. The page is read-only.")
    expect(page.get_by_role("button", name="Add comment")).to_be_hidden()


@pytest.mark.parametrize(("close", "refresh"), [("Escape", "answered"), ("Cancel", "answered"), ("Escape", "held")])
def test_closing_a_comment_the_closed_round_refused_keeps_it_on_the_page_to_copy(page, served, close, refresh):
    """QA (keyboard only): after "Not sent" on a round finalized under the box, Esc (pressed as ever) or Cancel
    discarded the only copy of the text, and the focus fell to the page's body with Add comment gone: the next Tab
    began again from the header. The text now stays, read-only to copy until Dismiss, and the keyboard is on it.
    "held": the refresh the 409 starts has not answered when Esc comes (CI's busy cores once made it so, and the
    text went): the Send's refusal alone says the round closed."""
    proc, creds = served
    words = "Typed, the round closed, then closed the box."
    session, key, text = typing_a_comment(page, proc, creds, words)
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    held: list[Route] = []
    if refresh == "held":
        page.route("**/api/widget/feedback-sessions/*/comments", lambda route: held.append(route) if route.request.method == "GET" else route.continue_())
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    if refresh == "held":
        page.keyboard.press("Enter")  # its 409 starts the refresh, which waits in `held`
        for _ in range(500):  # the route's handler runs as Playwright hands it the request
            if held:
                break
            page.wait_for_timeout(10)
        assert held
    else:
        page.keyboard.press("Enter")
    expect(text).to_be_focused()  # "Not sent", the text to copy
    if close == "Escape":
        page.keyboard.press("Escape")
    else:
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Cancel")).to_be_focused()
        page.keyboard.press("Enter")
    if refresh == "held":
        for route in held:
            route.continue_()
        page.unroute("**/api/widget/feedback-sessions/*/comments")
    expect(page.locator("#compose")).to_be_hidden()
    expect(page.locator("#notice")).to_have_text("Session is already done. The page is read-only.")
    kept = page.locator("#kept-text")
    expect(kept).to_be_focused()
    expect(kept).to_have_value(words)
    expect(kept).to_have_accessible_name(re.compile(r"^Your unsent comment on / was kept\."))
    page.reload()  # kept as a reload keeps it, until Dismiss
    expect(kept).to_have_value(words)
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#kept")).to_be_hidden()
    page.reload()
    expect(page.locator("#status")).to_have_text("done")
    expect(page.locator("#kept")).to_be_hidden()


def test_closing_an_emptied_box_on_a_closed_round_puts_the_keyboard_on_the_notice(page, served):
    """With nothing left to keep, Esc leaves the keyboard on the notice saying why Add comment went, not on the body."""
    proc, creds = served
    session, key, text = typing_a_comment(page, proc, creds, "Typed, then emptied.")
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.get_by_role("button", name="Send").click()
    expect(text).to_be_focused()
    text.fill("")
    page.keyboard.press("Escape")
    expect(page.locator("#compose")).to_be_hidden()
    expect(page.locator("#notice")).to_be_focused()
    expect(page.locator("#kept")).to_be_hidden()


def test_a_round_gone_to_task_review_is_named_in_words_not_by_its_stored_status(page, served):
    """QA: a Send after the round was handed on for task review answered "Session is in task_review: …", and the
    read-only notice behind said "task_review" too: the stored name, where the TUI and the CLI say "task review"."""
    proc, creds = served
    session, key, _ = typing_a_comment(page, proc, creds, "Typed while the round went to task review.")
    moved = httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/submit-round", headers=bearer(key))
    assert moved.json()["status"] == "task_review"
    page.get_by_role("button", name="Send").click()
    closed = "Session is in task review: comments are closed until it returns to review."
    # Not "This round takes no more comments", next to "closed until it returns to review".
    expect(page.locator("#compose-error")).to_have_text(f"Not sent. {closed} Copy your text to keep it.")
    expect(page.locator("#status")).to_have_text("task review")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#notice")).to_have_text(f"{closed} The page is read-only.")
    # Nowhere on the page (the frame holds the store's own text), the badge's capitals included.
    assert not re.search(r"[a-z]_[a-z]", page.locator("body").inner_text(), re.IGNORECASE)


def held_first_send(page, session: dict) -> tuple[list[str | None], list[Route]]:
    """The Idempotency-Key of each comment POST the page sends (None: sent without one), and the first POST's route,
    held unanswered (the list is empty until it comes); the later POSTs go through to the server."""
    keys: list[str | None] = []
    held: list[Route] = []

    def comments(route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(f"**/api/widget/feedback-sessions/{session['id']}/comments", comments)
    return keys, held


def sent_and_held(page, held: list[Route]):
    """Send; its request reaches the server, which stores the comment, and no answer reaches the page (yet).
    Returns the server's answer."""
    page.get_by_role("button", name="Send").click()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)  # Playwright's own timer, not the page's (its clock may be installed)
    assert held, "the first Send never left the page"
    return held[0].fetch()


def stored_but_answered_too_late(page, held: list[Route]) -> dict:
    """Send; its request reaches the server, which stores the comment, and the answer comes after the page gave up.
    Returns the comment stored."""
    stored = sent_and_held(page, held)
    assert stored.status == 201, stored.text()
    page.clock.fast_forward(60_000)
    expect(page.locator("#compose-error")).to_have_text(
        "The server did not answer within 60 seconds, so this comment may or may not be stored. It is kept here; press Send again, "
        "which never stores it twice.")
    return stored.json()


def test_send_pressed_again_after_an_answer_too_late_stores_the_comment_once(page, served):
    """QA: the server stored a comment but answered after the page's minute of patience, and the page's "press Send
    again", followed, stored it a second time. Every Send of one comment carries one Idempotency-Key now."""
    proc, creds = served
    # As where the page is served over plain http on a LAN: no secure context, so no crypto.randomUUID.
    page.add_init_script("delete Crypto.prototype.randomUUID")
    page.clock.install()  # the page's minute of patience, passed at once with fast_forward
    session, key, _ = typing_a_comment(page, proc, creds, "Stored once, however late the answer.")
    keys, held = held_first_send(page, session)
    stored_but_answered_too_late(page, held)

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/comments")) as again:
        page.get_by_role("button", name="Send").click()
    assert (again.value.status, again.value.headers.get("idempotent-replayed")) == (201, "true")  # the first one's answer
    page.locator("#list .comment", has_text="Stored once, however late the answer.").wait_for()
    expect(page.locator("#compose")).to_be_hidden()
    documented = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/comments", headers=bearer(key)).json()
    assert [c["content"] for c in documented["data"]] == ["Stored once, however late the answer."]
    assert keys[0] and keys == [keys[0], keys[0]], keys


def test_text_changed_after_an_answer_too_late_is_not_stored_beside_the_first(page, served):
    """The page's choice for text edited after a give-up: the same key, so the server says the first text got there
    (rather than storing both); the changed text is then another comment only when the reviewer sends it again."""
    proc, creds = served
    page.clock.install()
    session, key, text = typing_a_comment(page, proc, creds, "The logo is blury.")
    keys, held = held_first_send(page, session)
    stored_but_answered_too_late(page, held)

    text.fill("The logo is blurry.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#compose-error")).to_have_text(
        "Not sent: the server already took this comment as it was before your change, from the Send it had not answered "
        "(the list shows it once it is stored). Press Send again to add the changed text as another comment, or Cancel.")
    page.locator("#list .comment", has_text="The logo is blury.").wait_for()
    expect(text).to_have_value("The logo is blurry.")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")
    page.locator("#list .comment", has_text="The logo is blurry.").wait_for()
    documented = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/comments", headers=bearer(key)).json()
    assert sorted(c["content"] for c in documented["data"]) == ["The logo is blurry.", "The logo is blury."]
    assert keys[0] and keys[1] == keys[0] and keys[2] not in (None, keys[0]), keys


def test_send_again_answered_already_applied_shows_the_comment_stored(page, served):
    """Sent with a key, a Send again meets the server's 409 "already applied" when the server stopped between storing
    the first Send and keeping its answer: that comment is stored, not "Not sent. … Copy your text to keep it."."""
    proc, creds = served
    page.clock.install()
    session, key, _ = typing_a_comment(page, proc, creds, "Stored before the server stopped.")
    _, held = held_first_send(page, session)
    stored = stored_but_answered_too_late(page, held)
    # The server's answer then (idempotency.py), as a restarted one gives it (tests/server/test_crash_after_apply.py).
    applied = {
        "detail": "A request with this Idempotency-Key was already applied and is not run again; its first response was never "
                  f"stored (the server stopped or failed after the write). It wrote: feedback_comment.create on feedback_comment {stored['id']}.",
        "applied": {"action": "feedback_comment.create", "entity_type": "feedback_comment", "entity_id": stored["id"]},
        "idempotency": "applied",
    }
    page.route(f"**/api/widget/feedback-sessions/{session['id']}/comments", lambda route: route.fulfill(
        status=409, content_type="application/json", body=json.dumps(applied),
    ) if route.request.method == "POST" else route.fallback())
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#compose")).to_be_hidden()
    expect(page.locator("#list .comment", has_text="Stored before the server stopped.")).to_be_focused()
    documented = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/comments", headers=bearer(key)).json()
    assert documented["meta"]["count"] == 1


def test_send_while_the_first_is_still_being_processed_says_so_and_keeps_the_comment(page, served):
    """QA: the server's 409 for a Send again while the first Send still ran was taken for the 409 of a round that
    closed: "Not sent. A request with this Idempotency-Key is still being processed. Copy your text to keep it.",
    and Send stayed disabled, though the round was open and Send in a moment was the remedy."""
    proc, creds = served
    session, key, text = typing_a_comment(page, proc, creds, "Sent twice while the first was processed.")
    api = f"**/api/widget/feedback-sessions/{session['id']}/comments"
    # The server's own answer then (idempotency.py; its field is asserted in tests/server/test_api_idempotency.py).
    page.route(api, lambda route: route.fulfill(
        status=409, content_type="application/json",
        body='{"detail": "A request with this Idempotency-Key is still being processed", "idempotency": "in_flight"}',
    ) if route.request.method == "POST" else route.fallback())
    send = page.get_by_role("button", name="Send")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")) as first:
        send.click()
    expect(page.locator("#compose-error")).to_have_text(
        "The server is still processing your first Send of this comment. Your comment is kept here; press Send again in a moment.")
    expect(send).to_be_enabled()
    expect(send).to_be_focused()
    expect(text).to_have_value("Sent twice while the first was processed.")
    expect(page.locator("#status")).to_have_text("in review")  # not taken for a round that closed

    page.unroute(api)
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")) as again:
        page.keyboard.press("Enter")
    page.locator("#list .comment", has_text="Sent twice while the first was processed.").wait_for()
    assert again.value.headers["idempotency-key"] == first.value.headers["idempotency-key"]
    documented = httpx.get(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/comments", headers=bearer(key)).json()
    assert documented["meta"]["count"] == 1


KEPT = "Your unsent comment was kept."


def stored_comments(proc: ServerProcess, session: dict, key: str) -> list[dict]:
    """The round's comments, as the documented API lists them."""
    return httpx.get(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/comments", headers=bearer(key)).json()["data"]


def test_a_comment_being_typed_comes_back_after_a_reload_on_its_page_with_its_pin(page, served):
    """Nothing lost on a crash: a comment being typed lived in the page's memory only, so a reload, a closed tab or a
    crashed browser lost the reviewer's words (and the spot they had pinned)."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    # Another reviewer's, on the cart: its pin shows once the preview's widget reports the cart is in view.
    post_comment(proc.url, session, "Another reviewer's, on the cart.", pagePath="/cart", pinX=5, pinY=5)
    open_round(page, session)
    preview = page.frame_locator("#preview")
    preview.locator("#cart-link").click()
    preview.get_by_role("heading", name="Your cart").wait_for()
    expect(page.locator("#pins .pin", has_text="1")).to_be_visible()
    page.keyboard.press("c")
    page.locator("#catcher").wait_for()
    checkout = preview.locator("#checkout").bounding_box()
    assert checkout is not None
    page.mouse.click(checkout["x"] + 12, checkout["y"] + 8)
    expect(page.locator("#compose-where")).to_have_text("On /cart")
    pending = page.locator("#pins .pin.pending")
    placed = pending.bounding_box()
    text = page.get_by_label("Comment", exact=True)
    text.fill("Make the checkout button stand out.")
    expect(page.locator("#compose-kept")).to_be_hidden()  # a new comment is no kept one
    # The review link's token is a secret: it is kept nowhere in the browser's storage.
    assert review_token(session) not in page.evaluate("JSON.stringify(localStorage)")

    page.reload()
    expect(page.get_by_role("dialog", name="New comment")).to_be_visible()
    expect(text).to_have_value("Make the checkout button stand out.")
    expect(text).to_be_focused()
    expect(page.locator("#compose-kept")).to_have_text(KEPT)
    expect(page.locator("#compose-where")).to_have_text("On /cart")
    preview.get_by_role("heading", name="Your cart").wait_for()  # the preview brought back to the comment's page
    expect(pending).to_be_visible()
    again = pending.bounding_box()
    assert placed is not None and again is not None
    assert (again["x"], again["y"]) == pytest.approx((placed["x"], placed["y"]), abs=1)

    page.get_by_role("button", name="Send").click()
    page.locator("#list .comment", has_text="Make the checkout button stand out.").wait_for()
    expect(page.locator("#compose")).to_be_hidden()
    mine = [c for c in stored_comments(proc, session, key) if c["content"] == "Make the checkout button stand out."]
    assert len(mine) == 1 and mine[0]["pagePath"] == "/cart"
    pinned = next(c for c in httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                                       headers={"X-Review-Token": review_token(session)}).json()["data"] if c["id"] == mine[0]["id"])
    assert preview.locator(pinned["selector"]).get_attribute("id") == "checkout"
    assert (pinned["offsetX"], pinned["offsetY"]) == pytest.approx((12, 8), abs=1.5)
    assert 0 < pinned["pinX"] < 100 and 0 < pinned["pinY"] < 100
    # Its pin, drawn on its element now, is where the reviewer put it.
    stored_pin = page.locator("#pins .pin", has_text="2").bounding_box()
    assert stored_pin is not None
    assert (stored_pin["x"], stored_pin["y"]) == pytest.approx((placed["x"], placed["y"]), abs=2)


def test_a_send_unanswered_then_a_reload_sends_it_again_under_its_key_and_it_is_stored_once(page, served):
    """A Send the server took and never answered (it may have stored the comment), then the tab reloaded: the key of
    that Send was in the page's memory only, so sending the comment again could store it twice."""
    proc, creds = served
    session, key, text = typing_a_comment(page, proc, creds, "Sent, unanswered, then the tab reloaded.")
    keys, held = held_first_send(page, session)
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")) as first:
        assert sent_and_held(page, held).status == 201  # stored; the page never hears of it

    page.reload()
    expect(text).to_have_value("Sent, unanswered, then the tab reloaded.")
    expect(page.locator("#compose-kept")).to_have_text(
        "Your comment was kept. Its last Send got no answer: Send again never stores it twice.")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/comments")) as again:
        page.get_by_role("button", name="Send").click()
    assert (again.value.status, again.value.headers.get("idempotent-replayed")) == (201, "true")  # the first one's answer
    assert again.value.request.post_data_json == first.value.post_data_json
    page.locator("#list .comment", has_text="Sent, unanswered, then the tab reloaded.").wait_for()
    expect(page.locator("#compose")).to_be_hidden()
    assert [c["content"] for c in stored_comments(proc, session, key)] == ["Sent, unanswered, then the tab reloaded."]
    assert keys[0] and keys == [keys[0], keys[0]], keys


def test_a_send_again_after_the_name_changed_goes_with_the_name_its_key_was_first_sent_with(page, served):
    """Review: the Send after a reload read the name stored now; changed in between (in another tab, say), the retry's
    body was another one under the same key, and the server answered 422 "other_body" to a comment it had stored."""
    proc, creds = served
    session, _, text = typing_a_comment(page, proc, creds, "Sent as Eve, then the name changed.")
    keys, held = held_first_send(page, session)
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")) as first:
        assert sent_and_held(page, held).status == 201  # stored; the page never hears of it
    assert first.value.post_data_json["reviewerName"] == "Eve"
    page.evaluate("localStorage.setItem('workbench.reviewerName', 'Mallory')")

    page.reload()
    expect(text).to_have_value("Sent as Eve, then the name changed.")
    expect(page.locator("#who")).to_have_text("Commenting as Mallory")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/comments")) as again:
        page.get_by_role("button", name="Send").click()
    assert (again.value.status, again.value.headers.get("idempotent-replayed")) == (201, "true"), again.value.text()
    assert again.value.request.post_data_json == first.value.post_data_json
    page.locator("#list .comment", has_text="Sent as Eve, then the name changed.").wait_for()
    expect(page.locator("#compose")).to_be_hidden()
    listed = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                       headers={"X-Review-Token": review_token(session)}).json()["data"]
    assert [(c["content"], c["reviewerName"]) for c in listed] == [("Sent as Eve, then the name changed.", "Eve")]
    assert keys[0] and keys == [keys[0], keys[0]], keys


def test_storage_full_just_as_send_keeps_its_key_leaves_no_copy_without_it(page, served):
    """Review: storage full exactly when Send saved its key left the copy typed before it, without the key; a reload
    brought that back as unsent, and its Send went under a new key, storing the comment a second time."""
    proc, creds = served
    # Storage fills when the test says so (a reload starts with room again), as the quota's own error.
    page.add_init_script("""(() => {
        const setItem = Storage.prototype.setItem;
        Storage.prototype.setItem = function (name, value) {
            if (window.storageFull) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
            return setItem.call(this, name, value);
        };
    })()""")
    session, key, text = typing_a_comment(page, proc, creds, "Sent as storage filled up.")

    def kept() -> str:
        return page.evaluate("JSON.stringify(localStorage)")

    assert "Sent as storage filled up." in kept()  # the copy as typed, no key yet
    page.evaluate("window.storageFull = true")
    keys, held = held_first_send(page, session)
    assert sent_and_held(page, held).status == 201  # stored; the page never hears of it
    expect(page.locator("#compose-kept")).to_have_text(
        "This browser would not keep a copy of this comment (its storage is full or blocked): it is lost if this page "
        "is closed before the comment is stored.")
    expect(text).to_have_accessible_description(re.compile(r"^This browser would not keep a copy of this comment"))
    assert "Sent as storage filled up." not in kept()

    page.reload()
    page.locator("#list .comment", has_text="Sent as storage filled up.").wait_for()  # the round is drawn: kept ones are back by now
    expect(page.locator("#compose")).to_be_hidden()
    assert [c["content"] for c in stored_comments(proc, session, key)] == ["Sent as storage filled up."]
    assert len(keys) == 1, keys


def begin_comment(page, words: str):
    """On a round's review page already open: a new comment placed with the keyboard and ``words`` typed, not sent."""
    page.get_by_role("button", name="Add comment").wait_for()  # shown once the tab knows which kept comment is its own
    compose_at_centre(page)
    text = page.get_by_label("Comment", exact=True)
    text.fill(words)
    return text


_KEPT_JS = """Object.keys(localStorage).filter(k => k.startsWith('workbench.keptComment.'))
    .map(k => JSON.parse(localStorage.getItem(k)).content).sort()"""


def kept_comments(page) -> list[str]:
    """The texts of the kept comments in the browser's storage (every tab's), sorted."""
    return sorted(page.evaluate(f"() => {_KEPT_JS}"))


def expect_kept(page, texts: list[str]) -> None:
    """Wait until ``page`` sees exactly ``texts`` kept: another tab's write to localStorage reaches this tab's
    renderer a moment after it returns there (a read at once missed the second tab's comment in a CI run)."""
    want = sorted(texts)
    try:
        page.wait_for_function(f"(want) => JSON.stringify({_KEPT_JS}) === JSON.stringify(want)", arg=want, timeout=10_000)
    except PlaywrightTimeout:
        assert kept_comments(page) == want


def test_two_tabs_on_one_round_each_keep_their_own_comment(context, served):
    """Review: two tabs on one round kept one comment between them; the second tab's words overwrote the first's, and
    a reload of the first brought back the second's comment, with its Send's key. The first's were lost."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    first, second = context.new_page(), context.new_page()
    open_round(first, session)
    open_round(second, session)
    words = begin_comment(first, "Typed in the first tab.")
    begin_comment(second, "Typed in the second tab.")
    expect_kept(first, ["Typed in the first tab.", "Typed in the second tab."])

    first.reload()
    expect(words).to_have_value("Typed in the first tab.")
    expect(first.locator("#compose-kept")).to_have_text(KEPT)
    second.reload()
    expect(second.get_by_label("Comment", exact=True)).to_have_value("Typed in the second tab.")

    # A tab opened on the round while both are open takes neither: each is still being written.
    third = context.new_page()
    open_round(third, session)
    expect(third.locator("#add")).to_be_visible()  # shown once the tab knows which kept comment is its own
    expect(third.locator("#compose")).to_be_hidden()
    # Nor does a duplicate of the first tab (the browser copies its sessionStorage, its id with it): it is a tab of its
    # own, and what it types is kept beside the first's, not over it.
    tab = first.evaluate("sessionStorage.getItem('workbench.reviewTab')")
    duplicate = context.new_page()
    duplicate.add_init_script(f"if (!sessionStorage.getItem('workbench.reviewTab')) sessionStorage.setItem('workbench.reviewTab', {tab!r})")
    open_round(duplicate, session)
    expect(duplicate.locator("#add")).to_be_visible()  # shown once the tab knows which kept comment is its own
    expect(duplicate.locator("#compose")).to_be_hidden()
    begin_comment(duplicate, "Typed in a duplicate of the first tab.")
    assert duplicate.evaluate("sessionStorage.getItem('workbench.reviewTab')") != tab
    first.reload()
    expect(words).to_have_value("Typed in the first tab.")
    expect_kept(first, ["Typed in a duplicate of the first tab.", "Typed in the first tab.", "Typed in the second tab."])

    first.get_by_role("button", name="Send").click()
    first.locator("#list .comment", has_text="Typed in the first tab.").wait_for()
    expect_kept(first, ["Typed in a duplicate of the first tab.", "Typed in the second tab."])


@pytest.mark.parametrize("gone", ["closed", "crashed"])
def test_the_comment_of_a_tab_that_is_gone_comes_back_in_the_next_tab_opened(context, served, gone):
    """Kept per tab, a comment is still never lost: once its tab is closed (it lets go on pagehide) or has crashed (it
    answers no other tab), the next tab opened on the round brings it back, key and all, and only that one."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    first = context.new_page()
    open_round(first, session)
    begin_comment(first, f"Typed in a tab then {gone}.")
    _, held = held_first_send(first, session)
    with first.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")) as sent:
        assert sent_and_held(first, held).status == 201  # stored; the page never hears of it
    if gone == "crashed":
        # What a crash leaves: the comment still held (no pagehide let it go) by a tab that answers no more. CDP's
        # Page.crash never answers, which would hang the test, so the tab closes with its last write refused.
        first.evaluate("() => { Storage.prototype.setItem = () => { throw new DOMException('crashed', 'InvalidStateError'); }; }")
    first.close()

    later = context.new_page()
    open_round(later, session)
    text = later.get_by_label("Comment", exact=True)
    expect(text).to_have_value(f"Typed in a tab then {gone}.")
    expect(later.locator("#compose-kept")).to_have_text(
        "Your comment was kept. Its last Send got no answer: Send again never stores it twice.")
    # Taken over by this tab: one opened now finds it held by a live tab, and leaves it.
    another = context.new_page()
    open_round(another, session)
    expect(another.locator("#add")).to_be_visible()  # shown once the tab knows which kept comment is its own
    expect(another.locator("#compose")).to_be_hidden()
    with later.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/comments")) as again:
        later.get_by_role("button", name="Send").click()
    assert (again.value.status, again.value.headers.get("idempotent-replayed")) == (201, "true")
    assert again.value.request.post_data_json == sent.value.post_data_json
    assert [c["content"] for c in stored_comments(proc, session, key)] == [f"Typed in a tab then {gone}."]
    expect_kept(later, [])


def test_a_comment_kept_per_round_before_tabs_had_their_own_comes_back(page, served):
    """One a page kept under the round's name alone, before an upgrade, has no tab: gone, so it is taken over."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    old = {"content": "Kept by the page before.", "pending": {"pagePath": "/", "pinX": 40, "pinY": 40}, "sendKey": None, "savedAt": 1}
    page.evaluate("([name, kept]) => localStorage.setItem(name, JSON.stringify(kept))",
                  [f"workbench.keptComment.{session['id']}", old])
    page.reload()
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Kept by the page before.")
    expect(page.locator("#compose-kept")).to_have_text(KEPT)
    tab = page.evaluate("sessionStorage.getItem('workbench.reviewTab')")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('workbench.keptComment.'))") == [
        f"workbench.keptComment.{session['id']}.{tab}"]


def test_kept_comments_are_twenty_at_most_in_all(page, served):
    """Per tab, there could be more of them than rounds: still 20 at most in all, the oldest going first."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    page.evaluate("""() => {
        for (let i = 0; i < 25; i++) localStorage.setItem(`workbench.keptComment.other-round.tab${i}`, JSON.stringify(
            {content: `Kept ${i}.`, pending: {pagePath: '/'}, sendKey: null, savedAt: 1000 + i, tab: `tab${i}`, held: false}));
    }""")
    begin_comment(page, "Typed here, the newest.")
    page.reload()
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Typed here, the newest.")
    assert kept_comments(page) == sorted(["Typed here, the newest.", *(f"Kept {i}." for i in range(6, 25))])


def test_a_comment_stored_or_cancelled_is_not_brought_back_by_a_reload(page, served):
    proc, creds = served
    session, key, text = typing_a_comment(page, proc, creds, "Sent, then the page reloaded.")
    page.get_by_role("button", name="Send").click()
    page.locator("#list .comment", has_text="Sent, then the page reloaded.").wait_for()
    page.reload()
    page.locator("#list .comment", has_text="Sent, then the page reloaded.").wait_for()  # the round is drawn: kept ones are back by now
    expect(page.locator("#compose")).to_be_hidden()

    for close in ("Cancel", "Escape"):
        compose_at_centre(page)
        text.fill(f"Typed, kept, then discarded ({close}).")
        page.reload()
        expect(text).to_have_value(f"Typed, kept, then discarded ({close}).")
        if close == "Escape":
            page.keyboard.press("Escape")
        else:
            page.get_by_role("button", name="Cancel").click()
        expect(page.locator("#compose")).to_be_hidden()
        page.reload()
        expect(page.locator("#status")).to_have_text("in review")  # the round is drawn: kept ones are back by now
        expect(page.locator("#compose")).to_be_hidden()
        expect(page.locator("#kept")).to_be_hidden()
    assert [c["content"] for c in stored_comments(proc, session, key)] == ["Sent, then the page reloaded."]


def test_a_comment_kept_for_a_round_finalized_since_is_shown_read_only_to_copy(page, served):
    proc, creds = served
    session, key, _ = typing_a_comment(page, proc, creds, "Kept while the round was finalized.")
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.reload()
    expect(page.locator("#notice")).to_have_text("Session is already done. The page is read-only.")
    kept = page.get_by_role("textbox", name="Your unsent comment on / was kept")
    expect(kept).to_have_value("Kept while the round was finalized.")
    expect(kept).not_to_be_editable()
    expect(page.locator("#compose")).to_be_hidden()
    expect(page.get_by_role("button", name="Add comment")).to_be_hidden()
    # Kept until the reviewer is done with it: a reload shows it again, Dismiss lets it go.
    page.reload()
    expect(kept).to_have_value("Kept while the round was finalized.")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#kept")).to_be_hidden()
    page.reload()
    expect(page.locator("#notice")).to_have_text("Session is already done. The page is read-only.")
    expect(page.locator("#kept")).to_be_hidden()
    assert stored_comments(proc, session, key) == []


def test_a_comments_page_button_is_named_for_what_it_does(page, served):
    """QA: a screen reader announced a comment's page button by its text alone, the page's path: "slash"."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "The cart's total is cut off.", pagePath="/cart", pinX=30, pinY=30)
    page.goto(session["feedbackUrl"])
    button = page.get_by_role("button", name="Show page /cart in the preview", exact=True)
    expect(button).to_have_text("/cart")  # what it shows stays the path
    button.click()
    page.frame_locator("#preview").get_by_role("heading", name="Your cart").wait_for()


def test_a_comments_page_button_is_read_once_and_still_has_its_tooltip(page, served):
    """Review: its title, the tooltip, repeated its aria-label, and Chromium gave the button both as its name and as
    its description, which a screen reader reads after the role: the same words twice."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "The cart's total is cut off.", pagePath="/cart", pinX=30, pinY=30)
    page.goto(session["feedbackUrl"])
    button = page.get_by_role("button", name="Show page /cart in the preview", exact=True)
    expect(button).to_have_attribute("title", "Show page /cart in the preview")  # the tooltip, for the eye
    # What the browser hands a screen reader: its accessibility tree (the aria snapshot carries no descriptions).
    nodes = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    named = [n for n in nodes if n.get("role", {}).get("value") == "button"
             and n.get("name", {}).get("value") == "Show page /cart in the preview"]
    assert len(named) == 1, named
    assert not named[0].get("description", {}).get("value"), named[0]


@pytest.mark.parametrize("where", ["page", "preview"])
def test_c_starts_a_comment_with_caps_lock_and_on_a_non_latin_keyboard(page, served, where):
    """QA: with Caps Lock on (key "C"), or a Hebrew, Arabic or Russian layout (the C key types "ב", "ؤ", "с"), the
    documented `c` did nothing, on the page and in the preview alike."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    preview_body = page.frame_locator("#preview").locator("body")
    for key in ("C", "ב", "с"):
        if where == "preview":
            page.frame_locator("#preview").locator("h1").first.click()  # the keyboard is the frame's now
        press = "(e, key) => e.dispatchEvent(new KeyboardEvent('keydown', {key, code: 'KeyC', bubbles: true}))"
        (page.locator("body") if where == "page" else preview_body).evaluate(press, key)
        expect(page.locator("#catcher")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#catcher")).to_be_hidden()
    # A Latin letter that is not c, on the C key of another layout (Dvorak's j there), is not the shortcut.
    page.evaluate("document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'j', code: 'KeyC', bubbles: true}))")
    expect(page.locator("#catcher")).to_be_hidden()
    # Chrome's autofill sends a keydown that is no KeyboardEvent and has no key: nothing to throw at.
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.locator("body").evaluate("e => e.dispatchEvent(new Event('keydown', {bubbles: true}))")
    preview_body.evaluate("e => e.dispatchEvent(new Event('keydown', {bubbles: true}))")
    page.evaluate("() => new Promise(done => setTimeout(done))")  # a listener's error is reported by then
    assert errors == []


def test_a_pins_tooltip_never_cuts_an_emoji_in_half(page, served):
    """QA: a long comment's pin tooltip is its first 80 characters; counted in UTF-16 units, an emoji's two, it held
    half as many emoji and cut the last one in half, ending in a replacement character."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "a" + "🎉" * 100, pinX=30, pinY=30)
    open_round(page, session)
    pin = page.get_by_role("button", name="Comment 1", exact=True)
    expect(pin).to_have_attribute("title", "a" + "🎉" * 79 + "…")


def test_a_comment_of_invisible_characters_is_refused_in_plain_words(page, served):
    """QA: a comment of zero-width spaces (what an "empty" line pasted from some apps holds) passes the page's own
    blank check; the server's refusal was shown as "Check the comment: Value error, must say something: …"."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    compose_at_centre(page)
    page.get_by_label("Comment", exact=True).fill("\u200b\u200b")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#compose-error")).to_have_text(
        "Not sent. Check the comment: must say something: only invisible characters were given.")


NO_STORAGE = {
    # Chromium with all site data blocked: reading window.localStorage throws.
    "blocked": "Object.defineProperty(window, 'localStorage', {configurable: true, get() { throw new DOMException("
               "\"Failed to read the 'localStorage' property from 'Window': Access is denied for this document.\", 'SecurityError'); }})",
    "full": "Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); }",
}


@pytest.mark.parametrize("storage", list(NO_STORAGE))
def test_a_browser_without_usable_storage_still_reviews(page, served, storage):
    """QA: with site data blocked the page showed "Failed to read the 'localStorage' property…", no preview and no
    comments, and Add comment did nothing; with storage full, Save in the name dialog threw and the dialog stayed."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "Seen without storage.", pinX=20, pinY=20)
    page.add_init_script(NO_STORAGE[storage])
    page.goto(session["feedbackUrl"])
    page.locator("#list .comment", has_text="Seen without storage.").wait_for()
    page.frame_locator("#preview").locator("#hero-title").wait_for()
    agent_ready(page)
    expect(page.locator("#notice")).to_be_hidden()
    page.get_by_role("button", name="Add comment").click()
    page.get_by_role("textbox", name="Name").fill("Nadia")
    page.get_by_role("button", name="Save").click()
    page.locator("#catcher").wait_for()
    expect(page.locator("#who")).to_have_text("Commenting as Nadia")
    box = page.frame_locator("#preview").locator("#hero-title").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + 10)
    page.get_by_label("Comment", exact=True).fill("Sent without storage.")
    page.get_by_role("button", name="Send").click()
    page.locator("#list .comment", has_text="Sent without storage.").wait_for()
    page.keyboard.press("c")  # asked once in this visit: the next comment starts at once
    page.locator("#catcher").wait_for()
    expect(page.locator("#name-dialog")).to_be_hidden()
    sent = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                     headers={"X-Review-Token": review_token(session)}).json()["data"]
    assert [c["reviewerName"] for c in sent] == [None, "Nadia"]


def test_a_preview_that_changes_its_route_without_a_load_gets_that_routes_pins(page, deploying, host_site):
    """A preview that is a single-page app changes its route with the History API and loads no page: the widget
    reported its route on load and scroll only, so the review page kept the first route's pins on every later one."""
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    element = WIDGET_TAGS["review-mode"]
    deploys(creds, WIDGET_PAGE.replace("{tag}", element).replace("{root}", str(host_site.root)).replace("{url}", host_site.url))
    session = start_round(proc.url, creds["store_api_key"])
    for content, path in (("On the home route.", "/"), ("On the cart route.", "/cart")):
        made = post_comment(proc.url, session, content, pagePath=path, selector="#hero-title", offsetX=30, offsetY=5, pinX=50, pinY=10)
        assert made["pagePath"] == path
    page.goto(session["feedbackUrl"])
    preview = page.frame_locator("#preview")
    preview.locator("#hero-title").wait_for()
    agent_ready(page)
    home, cart = (page.locator("#pins .pin", has_text=n) for n in ("1", "2"))
    expect(home).to_be_visible()
    expect(cart).to_have_count(0)
    frame = next(f for f in page.frames if f.url.startswith(host_site.url))
    frame.evaluate("history.pushState({}, '', location.pathname + '/cart')")  # the route changes; nothing loads
    expect(cart).to_be_visible()
    expect(home).to_have_count(0)
    frame.evaluate("history.back()")
    expect(home).to_be_visible()
    expect(cart).to_have_count(0)


# -- what a screen reader says and a keyboard reaches ---------------------------------------------------


def test_the_page_has_its_language_title_headings_and_a_main_landmark_holding_the_comments_and_preview(page, served):
    """The page had a header, the comments and the preview, but no main landmark: a screen reader's "go to main" went
    nowhere, and the read-only notice stood outside every landmark."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(creds["store_api_key"]))
    page.goto(session["feedbackUrl"])
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page).to_have_title("Review round")
    expect(page.get_by_role("banner").get_by_role("heading", level=1, name="Review round")).to_be_visible()
    main = page.get_by_role("main")
    expect(main).to_have_count(1)
    expect(main.get_by_role("status")).to_have_text("Session is already done. The page is read-only.")
    expect(main.get_by_role("complementary", name="Comments")).to_be_visible()
    expect(main.get_by_role("heading", level=2, name="Comments")).to_be_visible()
    expect(main.get_by_role("region", name="Store preview")).to_be_visible()
    # Laid out as before: the preview and the comments take the height the header leaves.
    stage, side = (page.locator(s).bounding_box() for s in (".stage", ".side"))
    assert stage is not None and side is not None
    assert stage["y"] + stage["height"] == pytest.approx(800, abs=1) and side["y"] + side["height"] == pytest.approx(800, abs=1)


def test_the_header_says_what_the_badge_is_and_what_the_name_button_does(page, served):
    """The badge was read as a bare word after the heading ("Open"), and "Commenting as Bo" did not say that pressing
    it changes the name: both are said now, with nothing drawn that was not drawn before."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    page.goto(session["feedbackUrl"])
    banner = page.get_by_role("banner")
    expect(page.locator("#status")).not_to_be_empty()
    badge = page.locator("#status").text_content()
    assert f"Status: {badge}" in banner.aria_snapshot()
    page.evaluate("localStorage.setItem('workbench.reviewerName', '')")  # chose to stay anonymous, on an earlier visit
    page.reload()
    who = banner.get_by_role("button", name="Commenting anonymously")
    expect(who).to_have_accessible_description("Changes the name your comments are sent under")
    expect(who).to_have_attribute("title", "Change your name")
    # Said, not drawn: the words take no room in the header.
    box = page.get_by_text("Status:", exact=False).bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1


# Each element with text of its own, shown: its computed colour against the backgrounds under it (blended), with the
# ratio WCAG AA asks of its size (3:1 for large text, else 4.5:1). Disabled controls are exempt, as WCAG has them.
TEXT_CONTRAST = """() => {
    const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const over = (t, u) => [0, 1, 2].map((i) => t[i] * t[3] + u[i] * (1 - t[3])).concat(1);
    const lum = (c) => [0.2126, 0.7152, 0.0722].reduce((sum, w, i) => {
        const v = c[i] / 255; return sum + w * (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); }, 0);
    const under = (el) => {
        const layers = [];
        for (let n = el; n; n = n.parentElement) {
            const c = rgba(getComputedStyle(n).backgroundColor);
            if (c[3] > 0) { layers.unshift(c); if (c[3] === 1) break; }
        }
        return layers.reduce((acc, c) => over(c, acc), [255, 255, 255, 1]);
    };
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
        const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
        if (!text || !el.checkVisibility() || el.closest(':disabled')) continue;
        const s = getComputedStyle(el), bg = under(el), fg = over(rgba(s.color), bg);
        const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        const px = parseFloat(s.fontSize), large = px >= 24 || (Number(s.fontWeight) >= 700 && px >= 18.66);
        out.push({text: text.slice(0, 40), ratio: Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100, need: large ? 3 : 4.5});
    }
    return out;
}"""


def test_every_text_on_the_page_has_the_contrast_wcag_aa_asks(page, served):
    """The status badge ("in review") and each open comment's ("open") were orange on pale orange, 4.0:1 at 11 px:
    under the 4.5:1 body text needs."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    post_comment(proc.url, session, "Still open.", pinX=20, pinY=20)
    done = post_comment(proc.url, session, "Fixed since.", pinX=40, pinY=20)
    resolved = httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/comments/{done['id']}/resolve", headers=bearer(key))
    assert resolved.status_code == 200, resolved.text
    page.goto(session["feedbackUrl"])
    page.frame_locator("#preview").locator("#hero-title").wait_for()
    expect(page.locator("#pins .pin")).to_have_count(2)
    expect(page.locator("#status")).to_have_text("in review")
    texts = page.evaluate(TEXT_CONTRAST)
    assert {"in review", "open", "resolved", "Still open.", "Add comment"} <= {t["text"] for t in texts}
    assert [t for t in texts if t["ratio"] < t["need"]] == []
    # Read-only, with the notice: the same.
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.reload()
    expect(page.locator("#notice")).to_be_visible()
    texts = page.evaluate(TEXT_CONTRAST)
    assert [t for t in texts if t["ratio"] < t["need"]] == []


def test_the_comment_boxs_error_is_what_the_box_is_described_by(page, served):
    """The box's error was an alert beside the text: read once as it appeared, then nothing tied it to the text, which
    was not marked wrong either, and "Write a comment first." left the keyboard on Send."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    open_round(page, session)
    compose_at_centre(page)
    box = page.get_by_label("Comment", exact=True)
    expect(box).to_be_focused()
    expect(box).to_have_accessible_description("")
    box.fill("   ")
    page.get_by_role("button", name="Send").click()
    expect(box).to_have_accessible_description("Write a comment first.")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()  # where the remedy is typed
    box.fill("\u200b\u200b")  # invisible: past the page's own check, refused by the server
    expect(box).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Send").click()
    said = "Not sent. Check the comment: must say something: only invisible characters were given."
    expect(box).to_have_accessible_description(said)
    expect(box).to_have_attribute("aria-invalid", "true")
    # Cancelled, the next comment's box starts with no error.
    page.get_by_role("button", name="Cancel").click()
    page.keyboard.press("c")
    page.keyboard.press("Enter")
    expect(box).to_be_focused()
    expect(box).to_have_accessible_description("")
    expect(box).not_to_have_attribute("aria-invalid", "true")


def test_a_notice_that_comes_while_the_page_is_open_is_in_a_live_region_that_was_there_before(page, served):
    """The notice (the round turned read-only, the server out of reach) was a status shown with its words already in
    it: a live region that appears with its words is not read out, and a screen reader user kept typing into a
    round that took no more comments."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    open_round(page, session)
    expect(page.get_by_role("button", name="Add comment")).to_be_visible()
    expect(page.locator("#notice")).to_be_hidden()
    assert len(live_statuses(page)) == 1, "no live region is there for a notice to come into"
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the tab comes back: the round is read again
    expect(page.get_by_role("main").get_by_role("status")).to_have_text("Session is already done. The page is read-only.")
    expect(page.get_by_role("button", name="Add comment")).to_be_hidden()


def test_the_keyboard_on_add_comment_when_the_round_closes_goes_to_the_notice_saying_why(page, served):
    """Add comment is taken away when the round stops taking comments (a 15 s re-read): the keyboard on it dropped to
    the page's start, unsaid, and the next Tab began again from the top."""
    proc, creds = served
    key = creds["store_api_key"]
    session = start_round(proc.url, key)
    open_round(page, session)
    add = page.get_by_role("button", name="Add comment")
    add.focus()
    expect(add).to_be_focused()
    assert httpx.post(f"{proc.url}/api/v1/feedback-sessions/{session['id']}/finalize", headers=bearer(key)).status_code == 200
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the tab comes back: the round is read again
    notice = page.locator("#notice")
    expect(notice).to_have_text("Session is already done. The page is read-only.")
    expect(notice).to_be_focused()
    page.keyboard.press("Tab")  # on from there, not from the page's top
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_the_pin_a_comment_in_the_list_marks_is_said_to_be_the_current_one(page, served):
    """A comment's page button marks its pin (a ring), and a pin marks its comment (aria-current): the pin's mark was
    drawn only, so a screen reader going from the list to the pins heard nothing of which was meant."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    for n in (1, 2):
        post_comment(proc.url, session, f"Comment number {n}.", selector="#hero-title", offsetX=20 + 80 * n, offsetY=10, pinX=30, pinY=20)
    open_round(page, session)
    first, second = (page.get_by_role("button", name=f"Comment {n}", exact=True) for n in (1, 2))
    expect(second).to_be_visible()
    expect(first).not_to_have_attribute("aria-current", "true")
    entry = page.locator("#list .comment", has_text="Comment number 2.")
    entry.get_by_role("button", name="Show page / in the preview").press("Enter")
    expect(entry).to_have_attribute("aria-current", "true")
    expect(second).to_have_attribute("aria-current", "true")
    expect(first).not_to_have_attribute("aria-current", "true")
    first.press("Enter")  # and back: the first pin now, and its entry
    expect(page.locator("#list .comment", has_text="Comment number 1.")).to_be_focused()
    expect(first).to_have_attribute("aria-current", "true")
    expect(second).not_to_have_attribute("aria-current", "true")


def test_the_header_says_whose_name_comments_go_under_at_every_moment(context, served):
    """The header said "Commenting anonymously" before the reviewer had been asked for a name (it is asked at the first
    Add comment), and a comment then went with the name given. It says what is so: no name yet, the name given, or
    anonymous once chosen, also when the name is given in another tab."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    page, other = context.new_page(), context.new_page()
    for p in (page, other):
        open_round(p, session, name=None)
    banner = page.get_by_role("banner")
    who = banner.get_by_role("button", name="Set your name")
    expect(who).to_have_attribute("title", "Not set yet: asked when you add your first comment")
    expect(who).to_have_accessible_description("Changes the name your comments are sent under")
    expect(other.locator("#who")).to_have_text("Set your name")
    page.get_by_role("button", name="Add comment").click()
    page.get_by_role("button", name="Stay anonymous").click()
    expect(page.locator("#catcher")).to_be_visible()  # the comment goes on
    page.keyboard.press("Escape")
    expect(banner.get_by_role("button", name="Commenting anonymously")).to_have_attribute("title", "Change your name")
    expect(other.locator("#who")).to_have_text("Commenting anonymously")  # the other tab sends as anonymous too now
    page.locator("#who").click()
    page.get_by_role("textbox", name="Name").fill("Bo")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#who")).to_have_text("Commenting as Bo")
    expect(other.locator("#who")).to_have_text("Commenting as Bo")
    compose_at_centre(other)
    other.get_by_label("Comment", exact=True).fill("Sent from the other tab.")
    other.get_by_role("button", name="Send").click()
    expect(other.locator("#list .comment", has_text="Sent from the other tab.")).to_contain_text("Bo")


def boxes(page, *selectors: str) -> list[dict]:
    found = [page.locator(s).bounding_box() for s in selectors]
    assert all(b is not None for b in found), dict(zip(selectors, found, strict=True))
    return cast("list[dict]", found)


def test_at_phone_width_the_preview_and_the_comments_take_turns_on_the_whole_screen(browser, served):
    """At phone width (390 x 844) the list was stacked under a preview of 65 % of the screen: about 180 px of comments
    showed, and scrolling them scrolled the preview away. Each now takes all the room under the header, switched by
    Preview / Comments buttons; a pin leads to its comment, a comment's page to the preview, Add comment to the preview
    and a sent comment to the list."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    for n in range(1, 9):
        post_comment(proc.url, session, f"Comment number {n}.", selector="#hero-title", offsetX=40 * n, offsetY=10, pinX=20, pinY=20)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_round(page, session)
        views = page.get_by_role("group", name="Show")
        show_preview, show_comments = views.get_by_role("button", name="Preview"), views.get_by_role("button", name="Comments (8)")
        expect(show_preview).to_have_attribute("aria-pressed", "true")
        expect(show_comments).to_have_attribute("aria-pressed", "false")
        pin = page.get_by_role("button", name="Comment 3", exact=True)
        pin.wait_for()
        switch, stage = boxes(page, "#views", ".stage")
        # The preview: the width of the screen, and every pixel from under the switch to the screen's foot.
        assert stage["y"] == pytest.approx(switch["y"] + switch["height"], abs=1) and stage["y"] + stage["height"] == pytest.approx(844, abs=1)
        assert stage["height"] >= 600 and stage["width"] == pytest.approx(390, abs=1)
        expect(page.locator(".side")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollHeight") <= 844  # nothing below, no page to scroll

        pin.tap()  # a pin: its comment, in the list
        entry = page.locator("#list .comment", has_text="Comment number 3.")
        expect(entry).to_be_focused()
        expect(entry).to_be_in_viewport()
        expect(show_comments).to_have_attribute("aria-pressed", "true")
        expect(page.locator(".stage")).to_be_hidden()
        (side,) = boxes(page, ".side")
        assert side == stage  # the list has the preview's place, all of it
        last = page.locator("#list .comment").last
        last.scroll_into_view_if_needed()
        assert last.bounding_box()["y"] + last.bounding_box()["height"] <= 844  # the list scrolls within it to its end

        entry.get_by_role("button", name="Show page / in the preview").tap()  # a comment's page: the preview, its pin marked
        expect(show_preview).to_have_attribute("aria-pressed", "true")
        expect(pin).to_be_visible()
        expect(pin).to_have_class("pin current")
        assert boxes(page, ".stage") == [stage]  # the frame kept its size while hidden: the pins their places

        show_comments.tap()
        page.get_by_role("button", name="Add comment").tap()  # back to the preview, to place the pin
        expect(page.locator("#catcher")).to_be_visible()
        heading = page.frame_locator("#preview").locator("#hero-title").bounding_box()
        assert heading is not None
        page.mouse.click(heading["x"] + 5, heading["y"] + heading["height"] / 2)
        page.get_by_label("Comment", exact=True).fill("Sent from a phone.")
        page.get_by_role("button", name="Send").click()
        sent = page.locator("#list .comment", has_text="Sent from a phone.")
        expect(sent).to_be_focused()  # the new comment, in the list
        expect(sent).to_be_in_viewport()
        expect(views.get_by_role("button", name="Comments (9)")).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_at_desktop_width_the_preview_and_the_comments_are_side_by_side_as_before(page, served):
    """The phone's Preview / Comments switch is not drawn at desktop width, where both are shown as they were."""
    proc, creds = served
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "The heading could be warmer.", selector="#hero-title", offsetX=20, offsetY=10, pinX=30, pinY=20)
    open_round(page, session)
    page.get_by_role("button", name="Comment 1", exact=True).click()  # a pin: its comment, the preview still there
    expect(page.locator("#views")).to_be_hidden()
    expect(page.locator(".stage")).to_be_visible()
    expect(page.locator(".side")).to_be_visible()
    header, stage, side = boxes(page, ".top", ".stage", ".side")
    top, list_width = header["y"] + header["height"], 22 * 15  # the list's 22rem, of 15 px
    below = {"y": pytest.approx(top, abs=1), "height": pytest.approx(800 - top, abs=1)}  # all the height the header leaves
    assert stage == {"x": 0, "width": pytest.approx(1280 - list_width, abs=1), **below}
    assert side == {"x": pytest.approx(1280 - list_width, abs=1), "width": pytest.approx(list_width, abs=1), **below}
