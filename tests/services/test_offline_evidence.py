"""Evidence attached offline (the CLI's ``annotation attach``, the TUI's ``e``, stdio MCP) is judged
as the server judges an upload: a picture the server would refuse is refused here, before it is
copied into the store, so sync never carries a change the server answers with a 400."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images import PNG
from workbench.domain.errors import Invalid
from workbench.services import resolutions
from workbench.services.bootstrap import owner_principal
from workbench.services.demo import load_demo


def test_offline_evidence_must_be_a_whole_readable_picture(wb, creds, tmp_path: Path):
    load_demo(wb, annotations=1)
    caller = owner_principal(creds["workspace_id"], creds["owner_user_id"])
    ann_id = wb.store.db.execute("SELECT id FROM annotations LIMIT 1").fetchone()[0]
    uploads = "SELECT count(*) FROM uploads"
    before = wb.store.db.execute(uploads).fetchone()[0]

    def refusal(path: Path) -> str:
        with pytest.raises(Invalid) as refused:
            resolutions.attach_local_file(wb, caller, ann_id, "after", path)
        return str(refused.value)

    truncated = tmp_path / "after.png"
    truncated.write_bytes(PNG[: len(PNG) // 2])  # its signature and header, half its pixels
    assert "does not decode" in refusal(truncated)
    assert "is a directory" in refusal(tmp_path)
    assert "not a regular file" in refusal(Path("/dev/null"))
    assert refusal(tmp_path / "gone.png") == f"No such file: {tmp_path / 'gone.png'}"
    assert wb.store.db.execute(uploads).fetchone()[0] == before  # nothing was kept of them

    whole = tmp_path / "whole.png"
    whole.write_bytes(PNG)
    assert resolutions.attach_local_file(wb, caller, ann_id, "after", whole).startswith(f"resolutions/{ann_id}/after-")
