"""The offline reviewer engine: deterministic, rule-based reviews, task instructions and analyses.

No network, no randomness, no clock: the same input always yields the same text, so the
product works fully offline and its outputs can be tested and diffed. Iteration is always
over tuples or sorted data, never sets, because set order varies with the hash seed.

The work is split by job, one module each: ``text`` (word and style helpers shared by the
others), ``review`` (persona reviews), ``instructions`` (task instructions) and ``analysis``
(test-session analysis). The rules above hold for every one of them. This module composes
them into the engine and re-exports the public names, so callers keep importing from here.
"""

from __future__ import annotations

from workbench.engine.analysis import analyze
from workbench.engine.base import (
    AnalysisResult,
    AnnotationBrief,
    EngineResult,
    PersonaBrief,
    TestSessionBrief,
)
from workbench.engine.instructions import rewrite_instruction
from workbench.engine.review import Assessment, assess, relevance, write_review

__all__ = ["Assessment", "OfflineEngine", "assess", "relevance", "rewrite_instruction"]


class OfflineEngine:
    """Rule-based engine that needs nothing but the input it is given."""

    name = "offline"

    def persona_review(self, persona: PersonaBrief, annotation: AnnotationBrief) -> EngineResult:
        return EngineResult(text=write_review(persona, annotation), engine=self.name)

    def task_instruction(self, content: str, page_path: str) -> EngineResult:
        return EngineResult(text=rewrite_instruction(content, page_path), engine=self.name)

    def analyze_test_session(self, brief: TestSessionBrief) -> AnalysisResult:
        summary, highlights, issues, sentiment, minutes = analyze(brief)
        return AnalysisResult(summary=summary, highlights=highlights, issues=issues,
                              sentiment=sentiment, completion_minutes=minutes, engine=self.name)
