"""The reviewer-engine contract: the interface and the plain models every engine speaks.

Three features share one engine: persona reviews of annotations, task instructions for
feedback-session comments, and analysis of usability test sessions. Services build these
briefs from stored rows and never see how an engine works, so the offline engine and a
later HTTP (OpenAI-compatible) engine are interchangeable. An engine that has to fall back
(e.g. the HTTP one to offline) says so in ``fallback_reason`` instead of failing.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Sentiment = Literal["positive", "mixed", "negative"]
Severity = Literal["low", "medium", "high"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class PersonaBrief(_Frozen):
    """What an engine needs to know about the reviewing persona."""

    slug: str
    name: str
    category: str
    description: str = ""
    focus: tuple[str, ...] = ()
    voice: str = ""


class AnnotationBrief(_Frozen):
    """What an engine needs to know about the annotation under review."""

    id: str
    kind: str
    status: str
    body: str
    page_url: str
    selector: str | None = None
    summary: str | None = None
    computed_styles: dict[str, str] | None = None


class SessionFeedbackBrief(_Frozen):
    """The tester's structured feedback on a test session (POST /api/sessions/:id/feedback)."""

    clarity: int = Field(ge=1, le=5)
    difficulty: int = Field(ge=1, le=5)
    technical_issues: bool
    comment: str | None = None


class TestSessionBrief(_Frozen):
    """One tester's run of a study, as an engine analyses it."""

    # Not a pytest test class, despite the name.
    __test__ = False

    session_id: str
    variant: str | None = None
    duration_seconds: int | None = None
    notes: list[str] = Field(default_factory=list)
    feedback: SessionFeedbackBrief | None = None


class EngineResult(_Frozen):
    """Text an engine produced, and which engine produced it."""

    text: str
    engine: str
    fallback_reason: str | None = None


class AnalysisResult(_Frozen):
    """An engine's analysis of a test session."""

    summary: str
    highlights: list[str]
    issues: list[str]
    sentiment: Sentiment
    completion_minutes: float | None
    engine: str
    fallback_reason: str | None = None


@runtime_checkable
class ReviewerEngine(Protocol):
    """Any engine behind persona reviews, task instructions and session analysis.

    Implementations must not raise for ordinary input: a review the engine cannot produce
    comes back as a fallback result, so a cost-bearing pipeline run never half-fails.
    """

    name: str

    def persona_review(self, persona: PersonaBrief, annotation: AnnotationBrief) -> EngineResult:
        """A short markdown review of ``annotation`` in ``persona``'s voice, with a severity."""
        ...

    def task_instruction(self, content: str, page_path: str) -> EngineResult:
        """An imperative, actionable rewrite of a reviewer's comment left on ``page_path``."""
        ...

    def analyze_test_session(self, brief: TestSessionBrief) -> AnalysisResult:
        """Summary, highlights, issues, sentiment and completion time of one session."""
        ...
