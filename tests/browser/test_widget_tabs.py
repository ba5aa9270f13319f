"""The site widget open in two tabs of one browser, in Debian's Chromium against a real `workbench serve`: they share one
outbox (localStorage), so what one tab sends, the other is told of."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_widget import allow, host_page, open_form, site_annotations


def test_a_form_is_told_when_another_tab_delivered_its_feedback(context, served, host_site):
    """A tab whose feedback could not go (the server out of reach from it) kept it in the outbox, which every tab of the
    site sends: another tab opened meanwhile delivered it, and the first tab's form still said "Saved in this browser: it
    will be sent when the server can be reached" for as long as it stayed open."""
    proc, creds = served
    allow(proc, creds["site_id"], host_site.url)
    url = host_page(host_site, proc, creds)
    first = context.new_page()
    first.goto(url)
    first.route("**/annotations", lambda route: route.abort())  # this tab cannot reach the server
    form = open_form(first, None)
    form.get_by_label("Comment").fill("Sent from the first tab, delivered by the second")
    form.get_by_role("button", name="Send").click()
    status = form.get_by_role("status")
    expect(status).to_have_text("Saved in this browser: it will be sent when the server can be reached.")

    second = context.new_page()
    second.goto(url)  # its start sends what the outbox holds
    expect(second.get_by_role("button", name="Feedback", exact=True)).to_be_visible()
    expect(status).to_have_text("Sent. Thank you!")
    expect(form).to_be_hidden()
    assert [a["body"] for a in site_annotations(proc, creds)] == ["Sent from the first tab, delivered by the second"]
