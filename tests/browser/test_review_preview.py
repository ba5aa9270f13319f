"""The review page's preview when the deployment URL names a file (``…/index.html``), as a static host's often does."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fresh_credentials
from tests.browser.test_review_page import agent_ready, deploying, post_comment, review_token, start_round

__all__ = ["deploying"]  # the deploy-command server, a fixture of this module too

PAGE = ('<!doctype html><title>{title}</title><script src="{widget}" data-mode="review" async></script>'
        '<main><h1 id="hero-title">{title}</h1><a href="{link}">{link}</a></main>')


@pytest.mark.parametrize("folder", ["", "rv/"], ids=["at-the-root", "in-a-folder"])
def test_a_comments_page_opens_in_a_preview_deployed_at_a_file(page, deploying, host_site, folder):
    """Deployed at <host>/index.html (or <host>/rv/index.html), the preview's home is "/" and its other pages are beside
    the file, "/about.html" relative to its folder. "Show page" put the one after the other: /index.html/about.html,
    and /index.html/ for the home page, both "not found" in the frame; in a folder the page kept its whole path
    (/rv/about.html), not one relative to the deployment."""
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    widget = f"{proc.url}/widget.js"
    if folder:
        (host_site.root / folder).mkdir()
    host_site.write(f"{folder}index.html", PAGE.format(title="Home page", widget=widget, link="about.html"))
    host_site.write(f"{folder}about.html", PAGE.format(title="About page", widget=widget, link="index.html"))
    deploys(creds, f"echo {host_site.url}/{folder}index.html")
    session = start_round(proc.url, creds["store_api_key"])
    page.goto(session["feedbackUrl"])
    preview = page.frame_locator("#preview")
    expect(preview.locator("h1")).to_have_text("Home page")
    agent_ready(page)
    # The reviewer pins a comment on the second page, reached by its link, as pins are made: so its path is the page's.
    page.evaluate("localStorage.setItem('workbench.reviewerName', 'Al')")
    preview.get_by_role("link", name="about.html").click()
    expect(preview.locator("h1")).to_have_text("About page")
    page.locator("#frame-wrap[data-agent=ready]").wait_for(state="attached")
    page.get_by_role("button", name="Add comment").click()
    box = preview.locator("h1").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + 10)
    page.get_by_label("Comment", exact=True).fill("Say who we are.")
    page.get_by_role("button", name="Send").click()
    about = page.locator("#list .comment", has_text="Say who we are.")
    about.wait_for()
    path = httpx.get(f"{proc.url}/api/widget/feedback-sessions/{session['id']}/comments",
                     headers={"X-Review-Token": review_token(session)}).json()["data"][0]["pagePath"]
    assert path == "/about.html"  # relative to the deployment's folder, as every pagePath is
    post_comment(proc.url, session, "A warmer welcome.", selector="#hero-title", offsetX=10, offsetY=5, pinX=10, pinY=5)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the list is read again

    page.locator("#list .comment", has_text="A warmer welcome.").get_by_role("button", name="Show page / in the preview").click()
    expect(preview.locator("h1")).to_have_text("Home page")
    expect(page.get_by_role("button", name="Comment 2", exact=True)).to_be_visible()  # its pin, on its page
    about.get_by_role("button", name=f"Show page {path} in the preview").click()
    expect(preview.locator("h1")).to_have_text("About page")
    expect(page.get_by_role("button", name="Comment 1", exact=True)).to_be_visible()


def test_a_comments_page_opens_under_a_preview_deployed_at_a_folder_with_a_dot_in_its_name(page, deploying, host_site):
    """A folder may have a dot in its name (``/builds/v1.2``, a version): its pages are under it, and "Show page" goes
    there. Taking every dotted last segment for a file sent "/about.html" to the host's root, "not found"."""
    proc, deploys = deploying
    creds = fresh_credentials(proc.data_dir)
    widget = f"{proc.url}/widget.js"
    (host_site.root / "builds" / "v1.2").mkdir(parents=True)
    host_site.write("builds/v1.2/index.html", PAGE.format(title="Home page", widget=widget, link="about.html"))
    host_site.write("builds/v1.2/about.html", PAGE.format(title="About page", widget=widget, link="index.html"))
    deploys(creds, f"echo {host_site.url}/builds/v1.2")  # the host adds the slash (a 301), as static hosts do
    session = start_round(proc.url, creds["store_api_key"])
    post_comment(proc.url, session, "Say who we are.", pagePath="/about.html", selector="#hero-title", offsetX=10,
                 offsetY=5, pinX=10, pinY=5)
    page.goto(session["feedbackUrl"])
    preview = page.frame_locator("#preview")
    expect(preview.locator("h1")).to_have_text("Home page")
    agent_ready(page)
    page.locator("#list .comment", has_text="Say who we are.").get_by_role(
        "button", name="Show page /about.html in the preview").click()
    expect(preview.locator("h1")).to_have_text("About page")
    expect(page.get_by_role("button", name="Comment 1", exact=True)).to_be_visible()
