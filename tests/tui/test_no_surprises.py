"""Issue 12's "no surprises" rules and numbered bugs, each proved through the keys a user presses."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import SIZE, errors, make_app, press, screen_text, told, type_text, wait_for
from workbench.tui import keys
from workbench.tui.widgets.virtual_list import VirtualList


def inbox_list(app) -> VirtualList:  # noqa: ANN001
    return app.screen.query_one("#inbox-list", VirtualList)


# -- 1. keys.toml: a bad name or a clash keeps the default, with a warning -------------------
async def test_bad_or_clashing_keys_keep_their_defaults(demo_wb, tmp_path: Path):
    config = tmp_path / "keys.toml"
    config.write_text('[keys]\n"list.down" = "jj"\n"app.quit" = "j"\n"list.up" = "ctrl-k"\n"inbox.search" = "?"\n')
    keymap = keys.load_keymap(config)
    assert "list.down" not in keymap.bindings and "app.quit" not in keymap.bindings and "list.up" not in keymap.bindings
    assert any("'jj' is not a key name" in p for p in keymap.problems)
    assert any("app.quit: 'j' is already list.down" in p for p in keymap.problems)
    app = make_app(demo_wb, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("not a key name" in m for m in told(app))
        vlist = inbox_list(app)
        await press(pilot, "j", "down")
        assert vlist.cursor == 2
        await press(pilot, "k", "up")
        assert vlist.cursor == 0
        await press(pilot, "q")
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)
