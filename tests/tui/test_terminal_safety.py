"""Hostile widget text in the TUI: shown as visible escapes, never obeyed by the terminal or as markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tests.tui.conftest import screen_text, wait_for
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.services import annotations as annotations_service
from workbench.services import sites as sites_service
from workbench.tui.screens.annotation import AnnotationScreen

HOSTILE = "[red]x[/red] wipe\x1b[2J clip\x1b]52;c;ZXZpbA==\x07 csi\x9b31m"
RAW = ("\x1b", "\x07", "\x9b")


def hostile_annotation(wb, principal) -> str:
    site = sites_service.list_sites(wb, principal)[0]
    ann = annotations_service.submit_from_widget(wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
        page_url="https://shop.example/\x1b]0;title\x07", body=HOSTILE, submitter_name="[bold]Eve\x1b[5m",
        selector="#a\x1b[8m", computed_styles={"[i]color": "red\x1b[2J"},
    ))
    return ann.id


async def test_the_detail_screen_shows_control_characters_and_markup_as_text(app, demo_wb, principal):
    ann_id = hostile_annotation(demo_wb, principal)
    async with app.run_test(size=(160, 60)) as pilot:
        await app.push_screen(AnnotationScreen(ann_id))
        await pilot.pause()
        text = screen_text(app)
    assert not [raw for raw in RAW if raw in text]
    assert "[red]x[/red] wipe\\x1b[2J clip\\x1b]52;c;ZXZpbA==\\x07 csi\\x9b31m" in text
    assert "[bold]Eve\\x1b[5m (anonymous visitor)" in text  # a name's markup is not obeyed
    assert "#a\\x1b[8m" in text and "[i]color" in text and "red\\x1b[2J" in text


async def test_no_control_character_reaches_the_terminal_whichever_widget_draws_it(app, demo_wb, principal):
    # The inbox lists it through format.safe; a widget that forgets the helper (here a bare
    # Static holding the raw text) is still covered: the line filter drops the escapes.
    hostile_annotation(demo_wb, principal)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await app.screen.mount(Static(Text("unsanitised: " + HOSTILE)))
        await wait_for(pilot, lambda: "unsanitised:" in screen_text(app))
        text = screen_text(app)
    assert "wipe\\x1b[2J" in text  # the inbox row, made visible
    assert "unsanitised: [red]x[/red] wipe[2J clip]52;c;ZXZpbA== csi31m" in text  # escapes dropped
    assert not [raw for raw in RAW if raw in text]


async def test_lists_that_are_handed_raw_text_show_its_escapes_too(app, demo_wb, principal):
    """QA: the bulk preview (like the sync lists and the duplicate picker) gave the list the raw text, so the
    line filter dropped the escapes and "wipe\\x1b[2J" read "wipe[2J": a reader could not tell it held any.
    The list shows every plain cell through the one sanitiser, as the inbox does."""
    from tests.tui.test_bulk import pick
    from workbench.tui.screens.bulk import BulkDialog

    ann_id = hostile_annotation(demo_wb, principal)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        vlist.move_cursor(next(i for i in range(vlist.total) if vlist.row_at(i).id == ann_id))
        await pilot.press("space", "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        pick(dialog, "ack")
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.stage == "preview")
        region = dialog.query_one("#bulk-preview").region
        text = "\n".join(line[region.x : region.right] for line in screen_text(app).splitlines()[region.y : region.bottom])
    assert "[red]x[/red] wipe\\x1b[2J" in text
    assert not [raw for raw in RAW if raw in text]


async def test_copied_markdown_holds_no_control_character(app, demo_wb, principal):
    """QA: `y` put a visitor's raw escapes on the clipboard. Pasted into a shell, "\\x1b[201~" ends the
    terminal's bracketed paste early and what follows runs as typed; the copy shows them as `--markdown`
    does."""
    ann_id = hostile_annotation(demo_wb, principal)
    async with app.run_test(size=(160, 40)) as pilot:
        await app.push_screen(AnnotationScreen(ann_id))
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: "wipe" in app.clipboard)
        copied = app.clipboard
    assert not [raw for raw in RAW if raw in copied]
    assert "wipe\\x1b[2J" in copied and "[red]x[/red]" in copied


async def test_a_screen_s_notice_is_text_not_markup(app, demo_wb, principal):
    """QA: a screen's `notify` (Textual's Widget.notify asks for markup by default) quoting a tester id, a
    persona's or a store's name showed "[b]…[/b]" as bold, and "[@click=app.quit]" would be a clickable
    action. Every notice is text, whoever posts it."""
    from textual.widgets._toast import Toast

    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause()
        app.screen.notify("Confirmed [b]tester[/b] [@click=app.quit]x[/]'s session")

        def shown() -> str:
            return " ".join(str(toast.render()) for toast in app.screen.query(Toast))

        await wait_for(pilot, lambda: "Confirmed" in shown())
        assert "Confirmed [b]tester[/b] [@click=app.quit]x[/]'s session" in shown()
        # A control character in it is shown as its escape, not dropped by the line filter ("tester[5m").
        app.screen.notify("Completed tester\x1b[5m's session")
        await wait_for(pilot, lambda: "Completed" in screen_text(app))
        assert "Completed tester\\x1b[5m's session" in screen_text(app)


BRACKETS = ("wipe\x1b[2J then", "price [EUR", "a [b] c", "x [a b] y", "[/] early", "[31m", "a]b[", "[link=https://x.example]y[/link]")
BACKSLASHED = ("back\\[b] slash", "x\\[/b] y", "trail\\", "w-\\[200px\\]", "two\\\\[i]", "C:\\Temp\\", "end\\\n")


def test_escaped_text_reads_as_itself_in_every_markup_the_tui_parses():
    """QA: Textual's markup took an unclosed "[" in user text ("\x1b[2J", "[EUR") as the start of a
    tag and showed the rest of the line as written: the duplicate dialog's title ended in a stray
    "[/]" and lost its dim. ``esc`` escapes every bracket. A backslash before one was doubled, as
    rich's markup needs, and Textual's showed it twice; text ending in a backslash escaped the tag
    after it. The rich renderables now parse with Textual's parser (``markup_text``), so text reads
    as itself in both, with a tag right after it."""
    from textual.content import Content

    from workbench.tui import format as fmt

    for text in BRACKETS + BACKSLASHED:
        markup = f"[dim]({fmt.esc(text)})[/] [b]{fmt.esc(text)}[/b] after"
        for parsed in (fmt.markup_text(markup), Content.from_markup(markup)):
            assert parsed.plain.replace("\u200b", "") == f"({fmt.safe(text)}) {fmt.safe(text)} after", (text, parsed.plain)
        spans = [(span.start, span.end) for span in fmt.markup_text(markup).spans]
        shown = fmt.markup_text(markup).plain
        assert [shown[a:b].replace("\u200b", "") for a, b in spans] == [f"({fmt.safe(text)})", fmt.safe(text)], text


async def test_the_duplicate_dialog_title_shows_a_body_with_brackets_as_written(app, demo_wb, principal):
    site = sites_service.list_sites(demo_wb, principal)[0]
    ann_id = annotations_service.submit_from_widget(demo_wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
        page_url="https://shop.example/", body="Price shows [EUR 12 after \x1b[2J on mobile",
    )).id
    async with app.run_test(size=(160, 40)) as pilot:
        await app.push_screen(AnnotationScreen(ann_id))
        await pilot.pause()
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.query("#dup-search"))
        await pilot.pause()
        title = str(app.screen.query_one(".title", Static).render())
    assert title == "Duplicate of which annotation?  (Price shows [EUR 12 after \\x1b[2J on mobile)", title


async def test_a_name_ending_in_a_backslash_keeps_the_markup_after_it(app, demo_wb, principal):
    """QA: a persona named "Ops C:\\" made the delete dialog read "Delete Ops C:\\\\[/] (ops)?" in
    bold to its end: the name's backslash escaped the closing tag after it."""
    from tests.found import found
    from workbench.domain.personas import PersonaCreate
    from workbench.services import personas as personas_service
    from workbench.tui.screens.forms import ConfirmDialog
    from workbench.tui.screens.personas import PersonasScreen

    created = personas_service.create(demo_wb, principal, PersonaCreate(name="Ops C:\\", category="ops"))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonasScreen) and app.screen.list.total > 0)
        screen = app.screen
        assert isinstance(screen, PersonasScreen)
        index = next(i for i in range(screen.list.total) if found(screen.list.row_at(i)).id == created.id)
        screen.list.move_cursor(index)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        shown = screen_text(app).replace("\u200b", "")
    assert "Delete Ops C:\\ (ops)?" in shown, shown


def shown_in(app, selector: str) -> str:
    """The terminal's text inside the widget ``selector`` of the current screen."""
    region = app.screen.query_one(selector).region
    return "\n".join(line[region.x : region.right] for line in screen_text(app).splitlines()[region.y : region.bottom])


async def test_the_list_screens_previews_show_escapes_as_text(app, demo_wb, principal):
    """QA: the previews under the feedback comments, the test sessions and the personas handed the line filter
    a reviewer's, a tester's and a persona's raw text, so "Rev\\x1b[5m" read "Rev[5m" there while the row above
    it read "Rev\\x1b[5m": a reader could not tell the text held an escape. Each preview shows it as the rows do."""
    from types import SimpleNamespace

    from tests.found import found
    from tests.tui.test_feedback_sessions import focus_comment, open_feedback
    from workbench.domain import feedback_sessions as fs_domain
    from workbench.domain import test_sessions as ts_domain
    from workbench.domain.personas import PersonaCreate
    from workbench.services import feedback_sessions as fs_service
    from workbench.services import personas as personas_service
    from workbench.services import test_sessions as ts_service
    from workbench.tui.screens.personas import PersonasScreen
    from workbench.tui.screens.sync import SyncScreen
    from workbench.tui.screens.test_sessions import StudySource, TestSessionsScreen

    session_id, token = demo_wb.store.db.execute(
        "SELECT id, review_token FROM feedback_sessions WHERE status = 'in_review'").fetchone()
    demo_wb.store.db.execute("UPDATE stores SET name = ? WHERE id = (SELECT store_id FROM feedback_sessions WHERE id = ?)",
                             ["Shop\x1b[5m", session_id])  # a store's name as a sync may bring it
    comment = fs_service.add_comment(demo_wb, session_id, token, fs_domain.CommentCreate(
        content="comment " + HOSTILE, pagePath="/p\x1b]0;t\x07", reviewerName="Rev\x1b[5m"))
    study = ts_service.create_study(demo_wb, principal, "Study\x1b[31m")
    tested = ts_service.create(demo_wb, principal, ts_domain.TestSessionCreate(jobId=study.id, testerId="tester\x1b[5m"))
    ts_service.patch_notes(demo_wb, principal, tested.id, ts_domain.NotesPatch(notes=[ts_domain.NoteUpsert(content="note " + HOSTILE)]))
    persona = personas_service.create(demo_wb, principal, PersonaCreate(
        name="Aaron\x1b[5m", category="aaa", description="described " + HOSTILE, voice="voice\x07"))
    async with app.run_test(size=(160, 40)) as pilot:
        feedback = await open_feedback(app, pilot)
        await focus_comment(pilot, feedback, session_id, comment.id)
        await wait_for(pilot, lambda: "comment [red]" in shown_in(app, "#preview"))
        comment_preview = shown_in(app, "#preview") + shown_in(app, "#comments-title")

        await pilot.press("3")
        tests = app.screen
        assert isinstance(tests, TestSessionsScreen)
        tests.studies.move_cursor(next(i for i, (s, _) in enumerate(tests.studies.source_as(StudySource).rows) if s.id == study.id))
        await wait_for(pilot, lambda: "note [red]" in shown_in(app, "#ts-detail-body"))
        test_preview = shown_in(app, "#ts-detail-body") + shown_in(app, "#sessions-title")

        await pilot.press("4")
        personas = app.screen
        assert isinstance(personas, PersonasScreen)
        personas.list.move_cursor(next(i for i in range(personas.list.total) if found(personas.list.row_at(i)).id == persona.id))
        await wait_for(pilot, lambda: "described [red]" in shown_in(app, "#preview"))
        persona_preview = shown_in(app, "#preview")

        await pilot.press("5")
        sync = app.screen
        assert isinstance(sync, SyncScreen)
        refused = sync.preview_of(sync.refusal_list, SimpleNamespace(
            summary="Reply\x1b[2J", op="reply", at=0, remote="origin\x07", http_status=409, reason="said " + HOSTILE))
        conflict = sync.preview_of(sync.conflict_list, SimpleNamespace(
            title="Title\x1b[2J", entity_id="x", field="summary", entity_type="annotation", remote="origin\x07",
            base="base\x1b[2J", mine="mine\x9b31m", theirs="theirs\x07"))
    visible = "wipe\\x1b[2J clip\\x1b]52;c;ZXZpbA==\\x07 csi\\x9b31m"
    assert f"comment [red]x[/red] {visible}" in comment_preview
    assert "/p\\x1b]0;t\\x07" in comment_preview and "by Rev\\x1b[5m" in comment_preview
    assert "Comments — Shop\\x1b[5m · in review" in comment_preview
    assert "tester\\x1b[5m" in test_preview and f"note [red]x[/red] {visible}" in test_preview
    assert "Sessions — Study\\x1b[31m" in test_preview
    assert "Aaron\\x1b[5m" in persona_preview and "voice\\x07" in persona_preview
    assert "said [red]x[/red] wipe\\x1b[2J" in refused.plain and "Reply\\x1b[2J" in refused.plain and "origin\\x07" in refused.plain
    assert "Title\\x1b[2J" in conflict.plain and "mine\\x9b31m" in conflict.plain and "theirs\\x07" in conflict.plain
    for shown in (comment_preview, test_preview, persona_preview, refused.plain, conflict.plain):
        assert not [raw for raw in RAW if raw in shown]


async def test_a_line_ends_at_a_newline_alone_and_every_other_break_is_shown(app, demo_wb, principal):
    """QA: the inbox's one-line FEEDBACK cell cut a body at any character Python calls a line break, so
    "Carriage\\rreturn" listed as "Carriage" while its preview read "Carriage\\x0dreturn"; and a line separator
    (U+2028) was drawn as nothing, "line5\\u2028LS" reading "line5LS". A row ends at a newline; the rest is shown."""
    site = sites_service.list_sites(demo_wb, principal)[0]
    for body in ("Carriage\rreturn CR", "Separated\u2028LS", "Windows line\r\nsecond line CRLF"):
        annotations_service.submit_from_widget(demo_wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
            page_url="https://shop.example/", body=body))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "Separated" in screen_text(app))
        text = screen_text(app)
    assert "Carriage\\x0dreturn CR" in text
    assert "Separated\\u2028LS" in text
    assert "Windows line " in text and "Windows line\\x0d" not in text and "second line CRLF" not in text


# Emoji sequences whose width terminals disagree on (tmux 3.3 draws "❤️" in 1 cell, "👍🏽" in 4, and
# cuts a long joined cluster), each at the start of a body; Rich measures each as one 2-cell cluster.
EMOJI_BODIES = ("❤️ heart: the wishlist", "👍🏽 thumbs: the hero", "🏳️‍🌈 flag: the cards", "👩‍👩‍👧‍👦 family: a typo")


def libc_width(line: str) -> int:
    """The cells a terminal that measures each character by wcwidth (tmux 3.3, VTE) gives ``line``."""
    import ctypes
    import ctypes.util
    import locale

    locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.wcwidth.argtypes = [ctypes.c_wchar]
    return sum(max(libc.wcwidth(ch), 0) for ch in line)


async def test_an_emoji_sequence_takes_the_cells_every_terminal_draws_so_the_row_does_not_shift(app, demo_wb, principal):
    site = sites_service.list_sites(demo_wb, principal)[0]
    for body in EMOJI_BODIES:
        annotations_service.submit_from_widget(demo_wb, site.id, site.widget_token, None,
                                               WidgetAnnotationCreate(page_url="https://shop.example/", body=body))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "family" in screen_text(app))
        lines = screen_text(app).splitlines()
    rows = [line for line in lines if any(word in line for word in ("heart", "thumbs", "flag", "family"))]
    assert len(rows) >= 4, lines  # the four rows, and the preview of the highlighted one
    for row in rows:
        # Rich laid the row out in 80 cells; a terminal drawing each character alone gives it 80 too.
        assert libc_width(row) == 80, row
        assert not {"\u200d", "\ufe0f", "\U0001f3fd"} & set(row), row
    assert any("👩👩👧👦" in row for row in rows) and any("🏳🌈" in row for row in rows)


def test_emoji_apart_leaves_each_emoji_alone_and_other_joiners_as_they_are():
    from workbench.domain.safe_text import emoji_apart, screen_safe

    assert emoji_apart("👩‍👩‍👧‍👦 🏳️‍🌈 ❤️ 👍🏽 👩🏽‍💻") == "👩👩👧👦 🏳🌈 ❤ 👍 👩💻"
    assert emoji_apart("क्\u200dष") == "क्\u200dष"  # a joiner in a script's conjunct is not an emoji's
    assert emoji_apart("plain text") == "plain text"
    assert screen_safe("❤️\x1b[2J") == "❤\\x1b[2J"
