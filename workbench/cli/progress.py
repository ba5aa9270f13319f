"""Progress columns the CLI's long-running commands share (`sync`, `admin migrate-store`)."""

from __future__ import annotations

from rich.progress import ProgressColumn, Task
from rich.text import Text


class Count(ProgressColumn):
    """``done/total`` where the total is known, else the count alone (rich's ``MofNCompleteColumn``
    draws ``n/?``): a phase that cannot know how many rows are left says how many it has done,
    and a guessed total would be a lie."""

    def render(self, task: Task) -> Text:
        shown = f"{int(task.completed):,}" if task.total is None else f"{int(task.completed):,}/{int(task.total):,}"
        return Text(shown, style="progress.download")
