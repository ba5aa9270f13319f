"""A list page checks its site in its own statement: another workspace's site lists nothing, and is a 404.

``services.annotation_rows.list_annotation_rows`` no longer asks for the site before the page (on
PostgreSQL a round trip): the page's ``EXISTS`` over ``sites`` admits rows only from a site of
the caller's workspace, and an empty page asks whether the site is there at all.
"""

from __future__ import annotations

import pytest

from workbench.domain.errors import Invalid, NotFound
from workbench.services import annotation_rows as svc
from workbench.services.bootstrap import owner_principal
from workbench.services.demo import load_demo


def test_a_site_moved_to_another_workspace_lists_nothing_and_is_not_found(wb, creds):
    load_demo(wb, annotations=30)
    caller = owner_principal(creds["workspace_id"], creds["owner_user_id"])
    assert svc.list_annotation_rows(wb, caller, creds["site_id"], limit=10).rows
    with wb.store.write() as db:
        db.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('ws-other', 'Other', 0)")
        # Its annotations stay where they are: only the page's site check can keep them out.
        db.execute("UPDATE sites SET workspace_id = 'ws-other' WHERE id = ?", [creds["site_id"]])
    with pytest.raises(NotFound):
        svc.list_annotation_rows(wb, caller, creds["site_id"], limit=10)


def test_an_empty_page_of_a_site_that_is_there_is_empty(wb, creds):
    caller = owner_principal(creds["workspace_id"], creds["owner_user_id"])
    page = svc.list_annotation_rows(wb, caller, creds["site_id"], status="won_t_fix", limit=10)
    assert page.rows == [] and page.next_cursor is None


def test_a_site_that_is_not_there_is_a_404_before_its_cursor_is_judged(wb, creds):
    caller = owner_principal(creds["workspace_id"], creds["owner_user_id"])
    with pytest.raises(NotFound):
        svc.list_annotation_rows(wb, caller, "no-such-site", cursor="garbage", limit=10)
    with pytest.raises(Invalid):
        svc.list_annotation_rows(wb, caller, creds["site_id"], cursor="garbage", limit=10)
