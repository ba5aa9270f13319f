"""README's map of the house stays true: every file and function it names exists, and each path stays short.

The map ("How it is built", "The map: two paths, file by file") is what a new engineer follows
to walk an annotation PATCH and the push of one offline reply. Its numbered steps each start
with the file the work goes through; issue 15 caps the walk at 8 and 10 files.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMITS = {"An annotation PATCH": 8, "Pushing one offline reply": 10}
PATH = re.compile(r"^[\w/]+\.py$")
NAME = re.compile(r"^[A-Za-z_][\w.]*(\(\))?$")


def map_text() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("- **The map: two paths, file by file.**")
    return readme[start : readme.index("\n- **", start + 1)]


def paths_of_map() -> dict[str, str]:
    """Each path's own text, by its title."""
    text = map_text()
    parts = re.split(r"^  \*(.+?)\*", text, flags=re.M)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def steps(body: str) -> list[str]:
    return re.findall(r"^  \d+\. (.*?)(?=^  \d+\. |\Z)", body, flags=re.M | re.S)


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


@cache
def defined(path: str) -> set[str]:
    """Every function, class and method name in ``path``, and its module-level assignments."""
    tree = ast.parse((ROOT / path).read_text())
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_both_paths_are_in_the_map() -> None:
    assert set(paths_of_map()) == set(LIMITS)


def test_every_file_and_name_the_map_gives_exists() -> None:
    current: str | None = None
    checked = 0
    for span in code_spans(map_text()):
        if PATH.match(span):
            assert (ROOT / span).is_file(), f"README's map names {span}, which does not exist"
            current = span
        elif NAME.match(span) and current is not None:
            name = span.removesuffix("()").split(".")[-1]
            assert name in defined(current), f"README's map says {current} has {span}; it does not"
            checked += 1
    assert checked >= 20  # the map names what to read, not only files


def test_each_path_stays_within_its_file_budget() -> None:
    for title, body in paths_of_map().items():
        files = []
        for step in steps(body):
            first = next(span for span in code_spans(step) if PATH.match(span))  # each step starts at its file
            assert step.lstrip().startswith(f"`{first}`"), step
            files.append(first)
        assert len(files) == len(set(files)), f"{title}: a file is named by two steps: {files}"
        assert len(files) <= LIMITS[title], f"{title}: {len(files)} files, more than {LIMITS[title]}: {files}"
        assert f"{len(files)} files" in body.splitlines()[0], f"{title}: the README says another count than its {len(files)} steps"
