"""Resolutions: presigned uploads (expiring, signed), the document's rules, notifications by email or reply."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import bearer
from tests.helpers import post_annotation
from tests.images import PNG
from workbench.services import resolutions as svc


def _presign(client, creds, ann_id, kind="after", content_type="image/png", token=None):
    return client.post(
        f"/api/v1/annotations/{ann_id}/resolutions/upload-url",
        json={"kind": kind, "content_type": content_type},
        headers=bearer(token or creds["member_token"]),
    )




def _put(client, pre, data=PNG, content_type="image/png", url=None):
    u = urlparse(url or pre["url"])
    return client.put(u.path + "?" + u.query, content=data, headers={"Content-Type": content_type})


def test_upload_flow_stores_the_bytes(client, creds, wb):
    a = post_annotation(client, creds)
    r = _presign(client, creds, a["id"])
    assert r.status_code == 200
    pre = r.json()
    assert pre["method"] == "PUT" and pre["headers"] == {"Content-Type": "image/png"} and pre["expires_in_seconds"] == 900
    assert pre["key"].startswith(f"resolutions/{a['id']}/after-") and pre["key"].endswith(".png")
    put = _put(client, pre, PNG + b"-bytes")
    assert put.status_code == 200 and put.json()["size"] == len(PNG) + 6
    assert wb.store.get_blob(pre["key"]) == PNG + b"-bytes"
    res = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"after_key": pre["key"]}, headers=bearer(creds["member_token"]))
    assert res.status_code == 201 and res.json()["after_key"] == pre["key"]


def test_expired_tampered_and_mismatched_uploads_are_refused(client, creds, wb):
    a = post_annotation(client, creds)
    pre = _presign(client, creds, a["id"]).json()
    u = urlparse(pre["url"])
    q = parse_qs(u.query)
    tampered_sig = pre["url"].replace(q["signature"][0], q["signature"][0][:-1] + ("0" if q["signature"][0][-1] != "0" else "1"))
    assert _put(client, pre, url=tampered_sig).status_code == 403
    longer = pre["url"].replace(f"expires={q['expires'][0]}", f"expires={int(q['expires'][0]) + 9999}")
    assert _put(client, pre, url=longer).status_code == 403
    other_key = pre["url"].replace("/after-", "/before-")
    assert _put(client, pre, url=other_key).status_code == 403
    assert _put(client, pre, content_type="image/jpeg").status_code == 403
    no_sig = pre["url"].split("?")[0]
    assert _put(client, pre, url=no_sig).status_code == 403
    real_clock = wb.clock
    wb.clock = lambda: real_clock() + 901_000
    assert "expired" in _put(client, pre).json()["detail"]
    wb.clock = real_clock
    assert _put(client, pre).status_code == 200


@pytest.mark.parametrize("data", [b"not an image\n", b"", b"\xff\xd8\xff\xe0JFIF"], ids=["text", "empty", "jpeg"])
def test_an_upload_must_really_be_the_signed_image_type(client, creds, wb, data):
    a = post_annotation(client, creds)
    pre = _presign(client, creds, a["id"]).json()
    put = _put(client, pre, data)
    assert put.status_code == 400 and "not an image of type image/png" in put.json()["detail"], put.text
    assert wb.store.db.execute("SELECT count(*) FROM uploads WHERE key = ?", [pre["key"]]).fetchone()[0] == 0
    res = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"after_key": pre["key"]}, headers=bearer(creds["member_token"]))
    assert res.status_code == 400 and "after_key" in res.json()["detail"]
    # Nothing was recorded, so the same URL still takes the real picture.
    assert _put(client, pre).status_code == 200
    assert wb.store.get_blob(pre["key"]) == PNG


def test_an_upload_fills_only_the_slot_it_was_presigned_for(client, creds):
    a = post_annotation(client, creds)
    keys = {}
    for kind in ("before", "after"):
        pre = _presign(client, creds, a["id"], kind=kind).json()
        assert _put(client, pre).status_code == 200
        keys[kind] = pre["key"]
    url = f"/api/v1/annotations/{a['id']}/resolutions"
    for body, field in (({"before_key": keys["after"]}, "before_key"), ({"after_key": keys["before"]}, "after_key"),
                        ({"before_key": keys["after"], "after_key": keys["after"]}, "before_key")):
        r = client.post(url, json=body, headers=bearer(creds["member_token"]))
        assert r.status_code == 400 and r.json()["detail"].startswith(f"{field} does not name a"), r.text
    r = client.post(url, json={"before_key": keys["before"], "after_key": keys["after"]}, headers=bearer(creds["member_token"]))
    assert r.status_code == 201, r.text


def test_a_widget_screenshot_is_not_resolution_evidence(client, creds, wb):
    import base64

    shot = "data:image/png;base64," + base64.b64encode(PNG).decode()
    r = client.post(f"/api/widget/sites/{creds['site_id']}/annotations", json={"page_url": "https://x/", "body": "b", "screenshot": shot},
                    headers={"X-GF-Widget-Token": creds["widget_token"]})
    ann = r.json()
    key = wb.store.db.execute("SELECT key FROM uploads WHERE annotation_id = ?", [ann["id"]]).fetchone()[0]
    res = client.post(f"/api/v1/annotations/{ann['id']}/resolutions", json={"after_key": key}, headers=bearer(creds["member_token"]))
    assert res.status_code == 400 and "after_key does not name an after upload" in res.json()["detail"]


def test_upload_url_needs_member_and_valid_body(client, creds):
    a = post_annotation(client, creds)
    assert _presign(client, creds, a["id"], token=creds["guest_token"]).status_code == 403
    assert _presign(client, creds, a["id"], kind="during").status_code == 422
    assert _presign(client, creds, a["id"], content_type="text/html").status_code == 422


@pytest.mark.parametrize(
    "body,code",
    [
        ({}, 400),  # at least one field
        ({"diff_url": "http://github.com/x/y/pull/1"}, 400),  # https only
        ({"diff_url": "javascript:alert(1)"}, 400),
        ({"explanation": "x" * 4097}, 400),  # 4 KB cap
        ({"explanation": "é" * 2049}, 400),  # counted in bytes
        ({"explanation": "x" * 4096}, 201),
        ({"explanation": " \n\t "}, 400),  # blank counts as missing, like ""
        ({"explanation": "\u200b\u2060 \x07"}, 400),  # so do invisible characters alone
        ({"before_key": "resolutions/elsewhere/before-x.png"}, 400),  # not an upload of this annotation
        ({"diff_url": "https://github.com/x/y/pull/1", "extra": 1}, 422),
    ],
)
def test_resolution_rules(client, creds, body, code):
    a = post_annotation(client, creds)
    r = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json=body, headers=bearer(creds["member_token"]))
    assert r.status_code == code, r.text


def test_guest_cannot_attach_but_can_list_oldest_first(client, creds):
    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/resolutions"
    assert client.post(url, json={"explanation": "x"}, headers=bearer(creds["guest_token"])).status_code == 403
    for text in ("fix", "revert", "re-fix"):
        assert client.post(url, json={"explanation": text}, headers=bearer(creds["member_token"])).status_code == 201
    listed = client.get(url, headers=bearer(creds["guest_token"])).json()["items"]
    assert [r["explanation"] for r in listed] == ["fix", "revert", "re-fix"]


def test_anonymous_submitter_is_notified_by_a_thread_reply(client, creds):
    a = post_annotation(client, creds, "Broken link in footer")
    r = client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"explanation": "Link fixed."}, headers=bearer(creds["member_token"]))
    assert r.json()["notification_status"] == "pending"
    res = client.get(f"/api/v1/annotations/{a['id']}/resolutions", headers=bearer(creds["member_token"])).json()["items"][0]
    assert res["notification_status"] == "replied" and res["notified_at"]
    thread = client.get(f"/api/v1/annotations/{a['id']}", headers=bearer(creds["member_token"])).json()["replies"]
    assert thread[-1]["author"]["type"] == "system" and "Link fixed." in thread[-1]["body"]


class FakeMailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail = fail

    def send(self, to: str, subject: str, body: str) -> None:
        if self.fail:
            raise OSError("smtp down")
        self.sent.append((to, subject, body))


def _stakeholder_annotation(client, creds):
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    sh = client.post(f"/api/widget/sites/{creds['site_id']}/stakeholders", json={"name": "Dana", "email": "dana@acme.example"}, headers=owner).json()
    return post_annotation(client, creds, "Hero image is blurry", stakeholder=sh["token"])


def test_email_on_file_and_mailer_configured_sends_email(client, creds, wb):
    wb.mailer = FakeMailer()
    a = _stakeholder_annotation(client, creds)
    client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"diff_url": "https://github.com/x/y/pull/9"}, headers=bearer(creds["member_token"]))
    res = client.get(f"/api/v1/annotations/{a['id']}/resolutions", headers=bearer(creds["member_token"])).json()["items"][0]
    assert res["notification_status"] == "emailed"
    assert wb.mailer.sent[0][0] == "dana@acme.example" and "https://github.com/x/y/pull/9" in wb.mailer.sent[0][2]
    assert all(r["author"]["type"] != "system" for r in client.get(f"/api/v1/annotations/{a['id']}", headers=bearer(creds["member_token"])).json()["replies"])


def test_mail_failure_falls_back_to_reply_and_no_mailer_means_reply(client, creds, wb):
    wb.mailer = FakeMailer(fail=True)
    a = _stakeholder_annotation(client, creds)
    client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"explanation": "done"}, headers=bearer(creds["member_token"]))
    res = client.get(f"/api/v1/annotations/{a['id']}/resolutions", headers=bearer(creds["member_token"])).json()["items"][0]
    assert res["notification_status"] == "replied"
    wb.mailer = None
    client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"explanation": "again"}, headers=bearer(creds["member_token"]))
    res = client.get(f"/api/v1/annotations/{a['id']}/resolutions", headers=bearer(creds["member_token"])).json()["items"][1]
    assert res["notification_status"] == "replied"


def test_pending_notifications_are_delivered_once_after_restart(wb, creds):
    from workbench.domain.annotations import ResolutionCreate, WidgetAnnotationCreate
    from workbench.services import annotations
    from workbench.services.local import local_user

    ann = annotations.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://x/", body="b"))
    res = svc.create(wb, local_user(wb), ann.id, ResolutionCreate(explanation="fixed"))  # server "crashed" before delivery
    assert svc.deliver_pending(wb) == 1
    assert svc.deliver_pending(wb) == 0
    assert svc.deliver(wb, res.id) == "replied"
    n = wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ? AND author_kind = 'system'", [ann.id]).fetchone()[0]
    assert n == 1
