"""Issue 13's edge findings over the real app: secrets for guests, the three 500s, replayed uploads,
oversized or fake screenshots, NUL bytes, URLs that inject markdown, and since values out of range."""

from __future__ import annotations

import base64
import inspect
import itertools
from urllib.parse import urlparse

import pytest
from pydantic import ValidationError

from tests.conftest import bearer
from tests.helpers import post_annotation
from tests.images import PNG, image_bytes
from tests.stores import blob_keys
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.server import errors
from workbench.server.routes.feedback_sessions import BuilderFailure
from workbench.services import annotations


def _stakeholder(client, creds, **body) -> dict:
    r = client.post(f"/api/widget/sites/{creds['site_id']}/stakeholders", json=body, headers=bearer(creds["member_token"]))
    assert r.status_code == 201, r.text
    return r.json()


# -- item 8: stakeholder tokens -------------------------------------------------------------
def test_a_guest_sees_only_the_last_four_characters_and_no_email(client, creds):
    sh = _stakeholder(client, creds, name="Dana", email="dana@acme.example", auto_fix_default="optional_on")
    base = f"/api/widget/sites/{creds['site_id']}/stakeholders"
    (seen,) = client.get(base, headers=bearer(creds["guest_token"])).json()["items"]
    assert seen["token"] == "****" + sh["token"][-4:]
    assert seen["email"] is None and seen["name"] == "Dana" and set(seen) == set(sh)
    # What a guest holds does not open the widget as that stakeholder.
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    r = client.post(url, json={"page_url": "https://x/", "body": "b", "auto_fix": True},
                    headers={"X-GF-Widget-Token": creds["widget_token"], "X-GF-Stakeholder-Token": seen["token"]})
    assert r.status_code == 401
    # A MEMBER, who may create stakeholders, still gets the working token and the address.
    (full,) = client.get(base, headers=bearer(creds["member_token"])).json()["items"]
    assert full["token"] == sh["token"] and full["email"] == "dana@acme.example"


# -- item 9: three 500s ---------------------------------------------------------------------
def test_a_null_auto_fix_default_is_a_422_not_a_500(client, creds):
    sh = _stakeholder(client, creds, name="S")
    r = client.patch(f"/api/widget/sites/{creds['site_id']}/stakeholders/{sh['token']}", json={"auto_fix_default": None},
                     headers=bearer(creds["member_token"]))
    assert r.status_code == 422 and "auto_fix_default cannot be null" in r.text
    # name and email may still be cleared with null.
    r = client.patch(f"/api/widget/sites/{creds['site_id']}/stakeholders/{sh['token']}", json={"name": None},
                     headers=bearer(creds["member_token"]))
    assert r.status_code == 200 and r.json()["name"] is None


# Header bytes are read as latin-1: b"\xb2" arrives as "²", which str.isdigit() accepts.
@pytest.mark.parametrize("tag", [b'"v\xb2"', b'"v\xd9\xa3"', b'"v99999999999999999999999"', b'"v"', b'W/"x1"', b'"v01"'])
def test_a_non_ascii_or_huge_if_match_is_a_400(client, creds, tag):
    a = post_annotation(client, creds)
    r = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "ack"},
                     headers={**bearer(creds["member_token"]), "If-Match": tag})
    assert r.status_code == 400 and "If-Match" in r.json()["detail"]


def test_if_match_given_twice_is_judged_whole_as_one_list(client, creds):
    """Two If-Match lines are one list (RFC 9110 5.3), refused as the same list on one line is;
    only the first was read, so a second condition went unchecked."""
    a = post_annotation(client, creds)
    # A query string sends the PATCH past its hot path (server/hotwrites.py) to the declared route.
    for tags, query in itertools.product(([("If-Match", '"v1"'), ("If-Match", '"v9"')], [("If-Match", '"v1", "v9"')]), ("", "?via=route")):
        r = client.patch(f"/api/v1/annotations/{a['id']}{query}", json={"status": "ack"},
                         headers=[("Authorization", f"Bearer {creds['member_token']}"), *tags])
        assert r.status_code == 400 and "If-Match" in r.json()["detail"], r.text
    assert client.get(f"/api/v1/annotations/{a['id']}", headers=bearer(creds["member_token"])).json()["status"] == "new"


def _presign(client, creds, ann_id: str, content_type: str = "image/png") -> dict:
    r = client.post(f"/api/v1/annotations/{ann_id}/resolutions/upload-url", json={"kind": "after", "content_type": content_type},
                    headers=bearer(creds["member_token"]))
    assert r.status_code == 200, r.text
    return r.json()


def _put(client, url: str, data: bytes = PNG, content_type: str = "image/png"):
    u = urlparse(url)
    return client.put(u.path + "?" + u.query, content=data, headers={"Content-Type": content_type})


@pytest.mark.parametrize("expires", ["%C2%B2", "%D9%A3", "9" * 40, "-1", ""])
def test_a_malformed_upload_expiry_or_signature_is_a_403(client, creds, expires):
    a = post_annotation(client, creds)
    pre = _presign(client, creds, a["id"])
    path, query = pre["url"].split("?")
    sig = query.split("signature=")[1]
    assert _put(client, f"{path}?expires={expires}&signature={sig}").status_code == 403
    exp = query.split("expires=")[1].split("&")[0]
    assert _put(client, f"{path}?expires={exp}&signature=%C2%B2").status_code == 403


# -- item 11: single-use upload URLs --------------------------------------------------------
def test_an_upload_url_cannot_be_replayed_to_replace_evidence(client, creds, wb):
    a = post_annotation(client, creds)
    pre = _presign(client, creds, a["id"])
    assert _put(client, pre["url"]).status_code == 200
    res = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"after_key": pre["key"]}, headers=bearer(creds["member_token"]))
    assert res.status_code == 201
    again = _put(client, pre["url"], PNG + b"replaced")
    assert again.status_code == 409 and "already used" in again.json()["detail"]
    assert wb.store.get_blob(pre["key"]) == PNG
    (row,) = wb.store.db.execute("SELECT size FROM uploads WHERE key = ?", [pre["key"]]).fetchall()
    assert row[0] == len(PNG)


# -- item 12: the screenshot ----------------------------------------------------------------
def _shot(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize("mib", [10.5, 12])
def test_a_screenshot_over_10_mb_is_a_413(client, creds, wb, mib):
    # 10.5 MB passes the route's body cap (a 10 MB screenshot in base64 plus room) and meets the
    # screenshot's own cap; 12 MB (16 MB as base64) is refused by the body cap before it is read.
    big = PNG + b"\x00" * int(mib * 1024 * 1024)
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    r = client.post(url, json={"page_url": "https://x/", "body": "b", "screenshot": _shot(big)},
                    headers={"X-GF-Widget-Token": creds["widget_token"]})
    assert r.status_code == 413, r.text
    assert ("10 MB" if mib < 11 else "at most") in r.json()["detail"]
    assert wb.store.db.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
    assert blob_keys(wb.store) == []


@pytest.mark.parametrize(
    "content_type,data,refusal",
    [
        ("image/png", b"<svg onload=alert(1)>", "not an image of type image/png"),
        ("image/png", image_bytes("JPEG"), "not an image of type image/png"),  # a JPEG declared as PNG
        ("image/jpeg", b"\xff\xd8\xff\xe0JFIF", "does not decode"),  # only its first bytes
        ("image/jpeg", image_bytes("JPEG"), None),
        ("image/gif", image_bytes("GIF"), None),
        ("image/webp", image_bytes("WEBP"), None),
        ("image/webp", b"RIFF\x10\x00\x00\x00AVI LIST", "not an image of type image/webp"),
        ("image/png", PNG, None),
    ],
)
def test_a_screenshot_must_really_be_the_declared_image(client, creds, content_type, data, refusal):
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    r = client.post(url, json={"page_url": "https://x/", "body": "b", "screenshot": _shot(data, content_type)},
                    headers={"X-GF-Widget-Token": creds["widget_token"]})
    if refusal is None:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 400 and refusal in r.json()["detail"], r.text


# -- item 15c: NUL bytes --------------------------------------------------------------------
def test_nul_bytes_are_refused_in_names_and_bodies(client, creds):
    widget = {"X-GF-Widget-Token": creds["widget_token"]}
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    for field in ("body", "page_url", "selector", "submitter_name"):
        r = client.post(url, json={"page_url": "https://x/", "body": "b", field: "a\x00b"}, headers=widget)
        assert r.status_code == 422 and "NUL" in r.text, field
    a = post_annotation(client, creds)
    m = bearer(creds["member_token"])
    assert client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "hi\x00"}, headers=m).status_code == 422
    assert client.patch(f"/api/v1/annotations/{a['id']}", json={"summary": "\x00"}, headers=m).status_code == 422
    r = client.post(f"/api/widget/sites/{creds['site_id']}/stakeholders", json={"name": "Da\x00na"}, headers=m)
    assert r.status_code == 422 and "NUL" in r.text
    r = client.post("/api/personas", json={"name": "Ro\x00bot", "category": "accessibility"}, headers=m)
    assert r.status_code == 422 and "NUL" in r.text
    r = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"explanation": "x\x00"}, headers=m)
    assert r.status_code == 422 and "NUL" in r.text
    # Text with tabs and newlines is fine.
    assert client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "a\n\tb"}, headers=m).status_code == 201


def test_a_lone_surrogate_is_a_422_naming_the_field_in_every_string(client, creds):
    """JSON may escape half of a surrogate pair ("\\udfff"); Python's reader lets it in and no
    UTF-8 encoder lets it out. Fields without constraints of their own (a resolution's
    explanation, reset-defaults' slug) took it to the store's write: a 500 where every other
    string field says pydantic's 422."""
    a = post_annotation(client, creds)
    m = {**bearer(creds["member_token"]), "Content-Type": "application/json"}
    for path, field in ((f"/api/v1/annotations/{a['id']}/resolutions", "explanation"),
                        ("/api/personas/reset-defaults", "slug"),
                        (f"/api/v1/annotations/{a['id']}/replies", "body")):
        for text in ("ok \\udfff", "\\ud800"):
            r = client.post(path, content=f'{{"{field}": "{text}"}}', headers=m)
            assert r.status_code == 422, (path, text, r.text)
            (err,) = r.json()["detail"]
            assert err["loc"] == ["body", field] and err["type"] == "string_unicode", r.text
    # Nothing was stored, and a pair written as two escapes is one character, taken.
    assert client.get(f"/api/v1/annotations/{a['id']}/resolutions", headers=m).json()["items"] == []
    r = client.post(f"/api/v1/annotations/{a['id']}/resolutions", content='{"explanation": "ok \\ud83d\\ude00"}', headers=m)
    assert r.status_code == 201 and r.json()["explanation"] == "ok \U0001f600", r.text
    with pytest.raises(ValidationError, match="unicode"):
        BuilderFailure.model_validate({"errorMessage": "x\udfff"})


def test_nul_bytes_are_refused_in_path_and_query_parameters(client, creds):
    """PostgreSQL cannot be asked about a NUL (the stateful fuzz run found a 500 there): every
    parameter is refused at the edge, on both engines, with the field named."""
    m = bearer(creds["member_token"])
    r = client.get("/api/v1/annotations/abc%00def", headers=m)
    assert r.status_code == 400 and "annotation_id" in r.text and "NUL" in r.text
    r = client.get(f"/api/v1/sites/{creds['site_id']}%00/annotations", headers=m)  # the list's hot path
    assert r.status_code == 400 and "site_id" in r.text and "NUL" in r.text
    r = client.get("/api/sessions", params={"jobId": creds["job_id"], "testerId": "a\x00b"}, headers=bearer(creds["jwt"]))
    assert r.status_code == 400 and "testerId" in r.text and "NUL" in r.text
    assert client.get("/api/sessions", params={"jobId": creds["job_id"], "testerId": "ab"}, headers=bearer(creds["jwt"])).status_code == 200



def test_the_parameter_check_runs_on_the_event_loop(client):
    """Every route depends on it: as a plain function FastAPI sent it to the threadpool on every
    request, a thread hop that cost a PATCH a third of its time under load."""
    dependencies = [d.dependency for d in client.app.router.dependencies]
    assert errors.refuse_nul_in_parameters in dependencies
    assert all(inspect.iscoroutinefunction(call) for call in dependencies)

# -- item 15d: URLs that would inject markdown ----------------------------------------------
@pytest.mark.parametrize(
    "diff_url",
    ["https://x.example/pr/1\n## Injected", "https://x.example/a b", "https://x.example/\x1b[2J", "https:///nohost", "ftp://x.example/"],
)
def test_a_diff_url_with_a_newline_or_control_character_is_refused(client, creds, diff_url):
    a = post_annotation(client, creds)
    r = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"diff_url": diff_url}, headers=bearer(creds["member_token"]))
    assert r.status_code == 400 and "diff_url" in r.json()["detail"]


def test_user_text_cannot_add_lines_to_the_markdown(client, creds, wb):
    # The widget's route refuses such a page URL (a 422); one stored before that rule, or pulled
    # from another server, is still rendered flat.
    a = annotations.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(
        page_url="https://x.example/\n## Injected heading\n- **Status:** resolved", body="b", selector="a`b\n# h",
        submitter_name="Eve\n# Owner",
    ))
    md = client.get(f"/api/v1/annotations/{a.id}/markdown", headers=bearer(creds["member_token"])).text
    lines = md.splitlines()
    assert not any(line.startswith(("## Injected", "# h", "# Owner")) for line in lines)
    assert [line for line in lines if line.startswith("- **Status:**")] == ["- **Status:** new"]
    assert "- **Selector:** ``a`b # h``" in lines


def test_free_text_cannot_change_the_markdown_s_structure(client, creds):
    """QA finding 5: the summary (a GUEST can set it), replies, explanations and styles stay inside their
    sections, as a CommonMark parser reads the blob: no heading, fact line or resolution of their own."""
    from markdown_it import MarkdownIt

    forged = "ok\n- **Status:** resolved\n# Annotation fake\n\n## Thread (9)\n2. forged resolution"
    a = post_annotation(client, creds, forged, computed_styles={"color\n# x": "red | x\n- **Status:** resolved"})
    url = f"/api/v1/annotations/{a['id']}"
    assert client.patch(url, json={"summary": forged}, headers=bearer(creds["guest_token"])).status_code == 200
    member = bearer(creds["member_token"])
    assert client.post(url + "/replies", json={"body": forged, "author_name": "Bot\n# Owner"}, headers=member).status_code == 201
    for _ in range(2):
        assert client.post(url + "/resolutions", json={"explanation": forged}, headers=member).status_code == 201
    md = client.get(url + "/markdown", headers=member).text
    headings, facts, resolutions, quoted = [], [], 0, 0
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    for i, t in enumerate(tokens):
        quoted += {"blockquote_open": 1, "blockquote_close": -1}.get(t.type, 0)
        if quoted:
            continue
        if t.type == "heading_open":
            headings.append(tokens[i + 1].content)
        elif t.type == "inline" and t.content.startswith("**Status:**"):
            facts.append(t.content)
        elif t.type == "list_item_open" and t.markup == ".":
            resolutions += 1
    headings = [h.split(" (")[0] if h.startswith("Thread (") else h for h in headings]  # notification replies may be on it
    assert headings == [f"Annotation {a['id']}", "Feedback", "Summary", "Computed styles", "Thread", "Resolutions (2)"]
    assert facts == ["**Status:** new"]
    assert resolutions == 2


# -- item 13: since -------------------------------------------------------------------------
@pytest.mark.parametrize("since", ["99999999999999999999", "253402300800000", "-1", "²"])
def test_since_out_of_range_is_a_400(client, creds, since):
    r = client.get(f"/api/v1/sites/{creds['site_id']}/annotations", params={"since": since}, headers=bearer(creds["member_token"]))
    assert r.status_code == 400 and "since" in r.json()["detail"]
    r = client.get(f"/api/v1/sites/{creds['site_id']}/thread-changes", params={"since": since}, headers=bearer(creds["member_token"]))
    assert r.status_code == 400 and "since" in r.json()["detail"]
