"""Benchmark: the TUI over 100,000 annotations vs an empty Textual app started the same way.

Measured in the same run (this machine is noisy; compare ratios, not absolute numbers):

1. Cold start to the first painted inbox (rows on screen), each a fresh ``python`` process
   running ``workbench --data-dir DIR`` (the executable's entry point) headless, against an
   empty Textual app that exits after its first paint. Goal: ratio <= 1.3. Medians of
   ``--runs`` alternating runs.
2. Peak memory of the same processes when their first frame is painted (``VmHWM`` then).
   Goal: ratio <= 1.5. Also their peak until exit (ru_maxrss, from ``os.wait4``), which
   includes whatever after-first-frame work ran before the exit. Also reported: a longer session (first paint, a filter, a search, one
   annotation opened), which loads the rest of the services.
3. Repaint after applying a filter and a full-text search, in-process: from the filter change
   to the list's next ``render_lines``. Goal: <= 50 ms. The inbox debounces typing by
   ``SEARCH_DEBOUNCE`` on top of that; keystroke-to-repaint is printed separately, and so is
   switching screens (the first visit to a screen, then coming back to one), which has no goal.
4. How long the step right after the first frame (the sync line, the title) holds the UI
   thread, in a fresh process: a key pressed then waits for it. No goal.

    .venv/bin/python bench/bench_tui.py [--annotations 100000] [--runs 5] [--store DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (120, 36)

EMPTY_APP = textwrap.dedent(
    """
    import sys, time
    from textual.app import App
    from textual.widgets import Static

    class Empty(App):
        def compose(self):
            yield Static("hello")

        def on_mount(self):
            self.call_after_refresh(self.painted)

        def painted(self):
            print(f"PAINTED {time.time():.6f}", file=sys.stderr, flush=True)
            print(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")), file=sys.stderr, flush=True)
            self.exit()

    Empty().run(headless=True, size=(120, 36))
    """
)

# The real entry point (``workbench --data-dir DIR``: the executable's own code from argument
# handling on), exiting right after the inbox list has painted rows. ``session`` then filters,
# searches and opens an annotation, which loads the rest of what a working session uses.
TUI_APP = textwrap.dedent(
    """
    import sys, time
    from workbench.tui.widgets.virtual_list import VirtualList

    data_dir, mode = sys.argv[1], sys.argv[2]
    painted = False
    original = VirtualList.render_lines

    async def session(app):
        from workbench.services import inbox
        from workbench.tui.screens.annotation import AnnotationScreen

        screen = app.screen
        screen.apply_filter(inbox.InboxFilter(kind="bug"))
        screen.apply_filter(inbox.InboxFilter(text="checkout"))
        await app.push_screen(AnnotationScreen(screen.list.current.id))
        app.call_after_refresh(app.exit)

    def render_lines(self, crop):
        global painted
        lines = original(self, crop)
        if not painted and self.id == "inbox-list" and self.total > 0:
            painted = True
            print(f"PAINTED {time.time():.6f}", file=sys.stderr, flush=True)
            print(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")), file=sys.stderr, flush=True)
            if mode == "first-paint":
                self.app.call_after_refresh(self.app.exit)
            elif mode == "session":
                self.app.call_after_refresh(lambda: self.app.run_worker(session(self.app)))
        return lines

    VirtualList.render_lines = render_lines
    if mode == "after-paint":  # how long the step after the first frame holds the UI thread
        from workbench.tui.app import WorkbenchApp

        after = WorkbenchApp._after_first_paint

        def timed(self):
            started = time.perf_counter()
            after(self)
            print(f"AFTER {(time.perf_counter() - started) * 1000:.3f}", file=sys.stderr, flush=True)
            self.call_after_refresh(self.exit)

        WorkbenchApp._after_first_paint = timed
    # Headless at the empty app's size; everything else is the executable's own path.
    from textual.app import App
    App.run = lambda self, _run=App.run, **kw: _run(self, headless=True, size=(120, 36))
    sys.argv = ["workbench", "--data-dir", data_dir]
    from workbench.cli.entry import run

    run()
    """
)


def build_store(data_dir: Path, n: int) -> None:
    """n annotations over the demo's sites, bulk-inserted in one transaction, plus the demo's sessions."""
    from storage import accounts as accounts_repo
    from storage import sites as sites_repo
    from storage.annotations import add_annotations, index_text_pending
    from workbench.services.bootstrap import ensure_workspace
    from workbench.services.context import Workbench
    from workbench.services.demo import build, load_demo, repliers

    wb = Workbench.open(str(data_dir), mailer=None)
    load_demo(wb)
    ws_id, _, _ = ensure_workspace(wb)
    site_list = sites_repo.list_sites(wb.store.db, ws_id)
    members = [u.id for u, _ in accounts_repo.list_members(wb.store.db, ws_id)]
    anns, _, _ = build(random.Random(1), ws_id, site_list, [], members, max(n - 320, 0), wb.clock(), repliers=repliers(wb, ws_id))
    started = time.perf_counter()
    with wb.store.write() as db:
        add_annotations(db, anns)
        index_text_pending(db)  # the annotation search's indexes, as the store's upkeep would soon
    print(f"  inserted {len(anns):,} annotations in {time.perf_counter() - started:.1f} s (one transaction)", flush=True)
    wb.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wb.store.close()


def run_child(args: list[str]) -> tuple[float, int, int]:
    """(seconds from spawning the process to its first paint, peak RSS in KB until it exits,
    peak RSS in KB when it painted) of one child.

    The child prints ``PAINTED <time.time()>`` on stderr when its first frame is composed;
    the exit that follows is not counted (it is not part of starting up).
    """
    started = time.time()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{err[-3000:]}")
    painted = [float(line.split()[1]) for line in err.splitlines() if line.startswith("PAINTED ")]
    if not painted:
        raise RuntimeError(f"child never painted:\n{err[-3000:]}")
    at_paint = [int(line.split()[1]) for line in err.splitlines() if line.startswith("VmHWM:")]
    return painted[0] - started, usage.ru_maxrss, at_paint[0]


def after_paint_ms(python: str, data_dir: Path) -> float:
    """ms the step right after the first frame (the sync line, the title, the timers; the warm-up
    and resumed jobs start in threads) holds the UI thread, in a fresh ``workbench`` process: a
    key pressed then waits that long."""
    proc = subprocess.run([python, "-c", TUI_APP, str(data_dir), "after-paint"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    found = [float(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("AFTER ")]
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return found[0]


async def repaint_times(data_dir: Path, repeats: int) -> dict[str, list[float]]:
    """ms from applying a filter/search to the inbox list's next paint."""
    from workbench.services import inbox
    from workbench.services.context import Workbench
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.keys import Keymap
    from workbench.tui.screens.inbox import SEARCH_DEBOUNCE, InboxScreen

    wb = Workbench.open(str(data_dir), mailer=None)
    app = WorkbenchApp(wb, watch=False, keymap=Keymap())
    typed_at: list[float] = []

    def hook(message) -> None:
        # When the search box has taken the last keystroke (what the user just typed).
        if type(message).__name__ == "Changed" and getattr(message, "value", None) == "checkout":
            typed_at.append(time.perf_counter())
    cases = {
        "filter kind=bug": inbox.InboxFilter(kind="bug"),
        "filter status=new": inbox.InboxFilter(status="new"),
        "filter unassigned, site": None,  # filled in below (needs a site id)
        "search 'checkout'": inbox.InboxFilter(text="checkout"),
        "search 'payment declined'": inbox.InboxFilter(text="payment declined"),
        "search 'contrast' (everything)": inbox.InboxFilter(text="contrast", status=inbox.ALL),
    }
    out: dict[str, list[float]] = {name: [] for name in cases}
    out["keystroke→repaint (search, incl. debounce)"] = []
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        vlist = screen.list
        site = next(pid for pid, _, src in screen.facets.places if src == "annotation")
        cases["filter unassigned, site"] = inbox.InboxFilter(assignee="none", place=site)
        painted = asyncio.Event()
        want_text: list[str | None] = [None]

        paint_at = [0.0]

        def on_paint() -> None:
            if not painted.is_set() and (want_text[0] is None or screen.filter.text == want_text[0]):
                paint_at[0] = time.perf_counter()
                painted.set()

        vlist.paint_listeners.append(on_paint)

        async def timed(apply: Callable[[], object]) -> float:
            painted.clear()
            started = time.perf_counter()
            apply()
            await asyncio.wait_for(painted.wait(), 10)
            return (paint_at[0] - started) * 1000

        for _ in range(repeats):
            for name, f in cases.items():
                out[name].append(await timed(lambda f=f: screen.apply_filter(f)))
                await pilot.pause()
                await timed(lambda: screen.apply_filter(inbox.InboxFilter()))
                await pilot.pause()
        # From the last keystroke of a search to the repaint (the debounce is part of it).
        for _ in range(repeats):
            await pilot.press("slash")
            await pilot.press(*"checkou")
            await pilot.pause(SEARCH_DEBOUNCE * 3)
            painted.clear()
            want_text[0] = "checkout"
            typed_at.clear()
            await pilot.press("t")
            await asyncio.wait_for(painted.wait(), 10)
            out["keystroke→repaint (search, incl. debounce)"].append((paint_at[0] - typed_at[0]) * 1000)
            want_text[0] = None
            await pilot.press("escape")
            await pilot.pause()
        # Switching screens (keys 1-5): a first visit builds the screen; coming back reuses it.
        for i in range(repeats):
            for mode, name in (("feedback", "screen switch: to feedback sessions"), ("inbox", "screen switch: back to the inbox")):
                started = time.perf_counter()
                await app.switch_mode(mode)
                await pilot.pause()
                label = f"{name} (first visit)" if i == 0 and mode == "feedback" else name
                out.setdefault(label, []).append((time.perf_counter() - started) * 1000)
    wb.store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--annotations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", type=Path, help="reuse (or create) the store in this directory")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_store(args.build, args.annotations)
        return

    tmp = None
    if args.store is None:
        tmp = tempfile.TemporaryDirectory()
        data_dir = Path(tmp.name) / "data"
    else:
        data_dir = args.store
    print(f"Store: {data_dir}")
    if not (data_dir / "workbench.db").exists():
        # In a child process: the children measured below must not inherit a big parent (fork
        # copies count in their ru_maxrss), so this process stays small until they have run.
        subprocess.run([sys.executable, __file__, "--build", str(data_dir), "--annotations", str(args.annotations)], check=True)
    python = sys.executable
    # Bytecode for our packages, as pip writes it for Textual at install: with
    # PYTHONDONTWRITEBYTECODE set (as on CI machines) an editable checkout would otherwise
    # compile every edited module from source at each start (~30 ms), which no installed copy does.
    subprocess.run([python, "-m", "compileall", "-q", "workbench", "storage", "sync"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    # Warm the OS file cache for both, so neither pays a one-off first read.
    run_child([python, "-c", EMPTY_APP])
    run_child([python, "-c", TUI_APP, str(data_dir), "first-paint"])

    empty, tui, session = [], [], []
    for _ in range(args.runs):
        empty.append(run_child([python, "-c", EMPTY_APP]))
        tui.append(run_child([python, "-c", TUI_APP, str(data_dir), "first-paint"]))
        session.append(run_child([python, "-c", TUI_APP, str(data_dir), "session"]))

    def med(values: list[tuple[float, int, int]], i: int) -> float:
        return statistics.median(v[i] for v in values)

    e_t, t_t = med(empty, 0), med(tui, 0)
    e_m, t_m, s_m = med(empty, 1), med(tui, 1), med(session, 1)
    print()
    print(f"Cold start: process spawn to first painted frame (median of {args.runs}):")
    print(f"  empty Textual app   {e_t * 1000:7.0f} ms")
    print(f"  workbench inbox     {t_t * 1000:7.0f} ms   ratio {t_t / e_t:.2f}  (goal <= 1.3)")
    e_p, t_p = med(empty, 2), med(tui, 2)
    print("Peak memory when the first frame is painted (VmHWM then):")
    print(f"  empty Textual app   {e_p / 1024:7.1f} MB")
    print(f"  workbench inbox     {t_p / 1024:7.1f} MB   ratio {t_p / e_p:.2f}  (goal <= 1.5)")
    # Until exit, the TUI's after-first-frame work (sync status, warm-up imports, resumed
    # analyses) races the exit, so this figure moves with the machine's load.
    print("Peak memory until the process exits (ru_maxrss):")
    print(f"  empty Textual app   {e_m / 1024:7.1f} MB")
    print(f"  workbench inbox     {t_m / 1024:7.1f} MB   ratio {t_m / e_m:.2f}")
    print(f"  + filter, search, one annotation opened  {s_m / 1024:5.1f} MB   ratio {s_m / e_m:.2f}")

    after = [after_paint_ms(python, data_dir) for _ in range(args.runs)]
    print(f"The UI thread held by the step after the first frame (median / max of {args.runs}, no goal): "
          f"{statistics.median(after):.1f} ms (max {max(after):.1f})")

    times = asyncio.run(repaint_times(data_dir, args.runs))
    print(f"Repaint after a filter or search change (median / max of {args.runs}, goal <= 50 ms; screen switches: no goal):")
    for name, values in times.items():
        print(f"  {name:<44} {statistics.median(values):6.1f} ms  (max {max(values):6.1f})")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
