"""Test-session analysis: summary, highlights, issues, sentiment and duration from notes and feedback."""

from __future__ import annotations

import re

from workbench.engine.base import Sentiment, TestSessionBrief

__all__ = ["analyze", "duration_words"]

_I = re.IGNORECASE
_ISSUE_CUES = ("struggl", "confus", "error", "broken", "couldn't", "could not", "can't", "cannot",
               "stuck", "fail", "unable", "frustrat", "gave up", "give up", "lost", "bug", "crash",
               "slow", "hesitat", "didn't find", "did not find", "didn't understand",
               "did not understand", "missed", "wrong", "problem", "issue", "difficult", "hard to",
               "annoy", "unclear", "not clear")
_POSITIVE_CUES = ("easily", "easy", "quickly", "smooth", "recovered", "completed", "success",
                  "liked", "loved", "clear", "intuitive", "enjoy", "straightforward", "found",
                  "good", "great", "fast", "finished", "without help")
_NEGATION = re.compile(r"\b(?:no|not|never|without|didn't|did not|wasn't|was not|no longer|"
                       r"hardly|barely)\s+(?:\w+\s+){0,2}$", _I)
_CLAUSES = re.compile(r";|,?\s+but\s+|,?\s+however,?\s+|,?\s+although\s+|,?\s+though\s+|,?\s+yet\s+", _I)


def _cue(text: str, cues: tuple[str, ...]) -> tuple[bool, bool]:
    """(a cue occurs un-negated, a cue occurs negated) in ``text``."""
    plain = negated = False
    for cue in cues:
        for hit in re.finditer(r"\b" + re.escape(cue), text, _I):
            if _NEGATION.search(text[:hit.start()]):
                negated = True
            else:
                plain = True
    return plain, negated


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("s" if n != 1 else "")


def duration_words(seconds: int) -> str:
    """A duration as a person says it: "36 minutes", "1.5 minutes", "3 hours 12 minutes", "12 days 3 hours".

    Minutes (to a tenth) up to two hours, as the analysis always said them; hours and days beyond,
    where a count of minutes (or Python's ``:g`` of a large one, "3.79e+07") says nothing.
    """
    minutes = round(seconds / 60, 1)
    if minutes < 120:
        return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    if seconds < 48 * 3600:
        hours, rest = divmod(round(seconds / 60), 60)
        return _plural(hours, "hour") + (f" {_plural(rest, 'minute')}" if rest else "")
    days, rest = divmod(round(seconds / 3600), 24)
    return _plural(days, "day") + (f" {_plural(rest, 'hour')}" if rest else "")


def _sentence(text: str) -> str:
    text = text.strip(" ,.;:!?")
    return text[0].upper() + text[1:] + "." if text else ""


def _classify(text: str, prefix: str, highlights: list[str], issues: list[str]) -> None:
    for clause in _CLAUSES.split(text):
        line = _sentence(clause)
        if not line:
            continue
        bad, bad_negated = _cue(clause, _ISSUE_CUES)
        good, _ = _cue(clause, _POSITIVE_CUES)
        # An issue outweighs praise in the same clause: "completed it, with errors" is a problem.
        target = issues if bad else highlights if (good or bad_negated) else None
        if target is not None and prefix + line not in target:
            target.append(prefix + line)


def analyze(brief: TestSessionBrief) -> tuple[str, list[str], list[str], Sentiment, float | None]:
    """(summary, highlights, issues, sentiment, completion minutes) of one test session."""
    highlights: list[str] = []
    issues: list[str] = []
    for note in brief.notes:
        _classify(note, "", highlights, issues)
    fb = brief.feedback
    if fb is not None:
        if fb.technical_issues:
            issues.append("Tester reported technical issues during the session.")
        if fb.difficulty >= 4:
            issues.append(f"Tasks felt hard (difficulty {fb.difficulty}/5).")
        elif fb.difficulty <= 2:
            highlights.append(f"Tasks felt manageable (difficulty {fb.difficulty}/5).")
        if fb.clarity <= 2:
            issues.append(f"Study instructions were unclear (clarity {fb.clarity}/5).")
        elif fb.clarity >= 4:
            highlights.append(f"Study instructions were clear (clarity {fb.clarity}/5).")
        if fb.comment:
            _classify(fb.comment, "Tester feedback: ", highlights, issues)
    minutes = None
    took = "has no recorded duration"
    if brief.duration_seconds is not None and brief.duration_seconds >= 0:
        minutes = round(brief.duration_seconds / 60, 1)
        said = duration_words(brief.duration_seconds)
        took = f"took {said}"
        if minutes < 2:
            issues.append(f"Session lasted only {said}; check the tasks were really attempted.")
        elif minutes > 60:
            issues.append(f"Session ran long ({said}), so tasks took longer than planned.")
    good, bad = len(highlights), len(issues)
    if good == 0 and bad == 0:
        sentiment = "mixed"
    elif bad == 0 or good >= 3 * bad:
        sentiment = "positive"
    elif good == 0 or bad >= 2 * good:
        sentiment = "negative"
    else:
        sentiment = "mixed"
    variant = f" (variant {brief.variant})" if brief.variant else ""
    count = len(brief.notes)
    parts = [f"Session {brief.session_id}{variant} {took} and has {count} note{'s' * (count != 1)}."]
    if good == 0 and bad == 0:
        parts.append("There is too little in the notes and feedback to judge how it went.")
    elif sentiment == "positive":
        parts.append("The run went well" + (" with no problems detected." if not bad else
                                            f", with one thing to watch: {issues[0]}"))
    elif sentiment == "negative":
        parts.append(f"The tester ran into trouble ({bad} issue{'s' * (bad != 1)}); "
                     f"the main one: {issues[0]}")
    else:
        parts.append(f"It went partly well: {good} positive signal{'s' * (good != 1)} against "
                     f"{bad} issue{'s' * (bad != 1)}; the main one: {issues[0]}")
    if fb is not None:
        tech = "with" if fb.technical_issues else "without"
        parts.append(f"Feedback rated clarity {fb.clarity}/5 and difficulty {fb.difficulty}/5, "
                     f"{tech} technical issues.")
    return " ".join(parts), highlights, issues, sentiment, minutes
