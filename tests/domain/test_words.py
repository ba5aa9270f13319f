"""What people read: status words, pydantic refusals in words, the "duplicate of" summary."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workbench.domain.annotations import AnnotationPatch, ReplyCreate, ResolutionCreate
from workbench.domain.duplicates import duplicate_summary, duplicate_target
from workbench.domain.errors import validation_text
from workbench.domain.personas import PersonaCreate
from workbench.domain.statuses import Status, status_label


def test_every_status_reads_as_words():
    assert [status_label(s) for s in Status] == ["new", "ack", "triaged", "in progress", "resolved", "won't fix", "duplicate"]
    assert status_label("task_review") == "task review" and status_label(Status.WONT_FIX) == "won't fix"


@pytest.mark.parametrize(
    ("build", "said"),
    [
        (lambda: ReplyCreate(body=""), "body: cannot be empty"),
        (lambda: AnnotationPatch(summary="x" * 2001), "summary: at most 2,000 characters"),
        (lambda: AnnotationPatch.model_validate({"status": "bogus"}), "status: one of: new, ack, triaged, in progress, resolved, won't fix, duplicate"),
        (lambda: ResolutionCreate(diff_url="https://x.example/" + "a" * 2100), "diff URL: at most 2,000 characters"),
        (lambda: PersonaCreate(name="x", category="Not Allowed"), "category: has characters that are not allowed here"),
        # QA: an empty category was said to have characters that are not allowed.
        (lambda: PersonaCreate(name="x", category=""), "category: cannot be empty"),
        (lambda: PersonaCreate.model_validate({"category": "ux"}), "name: required"),
    ],
)
def test_pydantic_refusals_are_said_in_words(build, said):
    with pytest.raises(ValidationError) as caught:
        build()
    text = validation_text(caught.value)
    assert said in text and "should" not in text.lower()


def test_duplicate_summaries_round_trip():
    target = "01a0bd3b-ad80-714b-9a85-13b35abf20c7"
    assert duplicate_target(duplicate_summary(target)) == target
    assert duplicate_target("Duplicate of …abcdef12") == "abcdef12"
    assert duplicate_target("Fixed in v2") is None and duplicate_target(None) is None
