"""The offline reviewer engine: deterministic persona reviews, task instructions and session analyses."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from workbench.domain.personas import DEFAULT_BY_SLUG, DEFAULT_PERSONAS
from workbench.engine.analysis import duration_words
from workbench.engine.base import (
    AnalysisResult,
    AnnotationBrief,
    EngineResult,
    PersonaBrief,
    ReviewerEngine,
    SessionFeedbackBrief,
    TestSessionBrief,
)
from workbench.engine.offline import OfflineEngine, assess, relevance

ENGINE = OfflineEngine()


def persona(slug: str) -> PersonaBrief:
    return PersonaBrief(**DEFAULT_BY_SLUG[slug].model_dump())


CONTRAST = AnnotationBrief(
    id="ann_1", kind="accessibility", status="new",
    body="The grey footer text is really hard to read against the white background.",
    page_url="https://shop.example.com/about", selector="footer p.small",
    computed_styles={"color": "#aaaaaa", "background-color": "#ffffff", "font-size": "11px"},
)
CHECKOUT_CRASH = AnnotationBrief(
    id="ann_2", kind="bug", status="new",
    body="Checkout crashes when I press Pay with a saved card.",
    page_url="/checkout", selector="button#pay",
)
TYPO = AnnotationBrief(id="ann_3", kind="copy", status="new",
                       body="Typo: 'recieve' in the newsletter box", page_url="/")
PRAISE = AnnotationBrief(id="ann_4", kind="praise", status="ack",
                         body="Love the new hero illustration!", page_url="/")


# ---- the contract ---------------------------------------------------------------------------

def test_offline_engine_satisfies_protocol() -> None:
    assert isinstance(ENGINE, ReviewerEngine)
    assert ENGINE.name == "offline"
    assert not isinstance(object(), ReviewerEngine)


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        CONTRAST.body = "changed"  # type: ignore[misc]


# ---- persona reviews ------------------------------------------------------------------------

def test_review_is_deterministic() -> None:
    first = ENGINE.persona_review(persona("lena-low-vision-reader"), CONTRAST)
    second = ENGINE.persona_review(persona("lena-low-vision-reader"), CONTRAST)
    assert first == second
    assert isinstance(first, EngineResult)
    assert first.engine == "offline" and first.fallback_reason is None


def test_review_is_stable_across_hash_seeds() -> None:
    # Set iteration order depends on PYTHONHASHSEED; the text must not.
    code = ("from tests.engine.test_engine_offline import ENGINE, persona, CHECKOUT_CRASH;"
            "print(ENGINE.persona_review(persona('victor-checkout-optimiser'), CHECKOUT_CRASH).text)")
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=Path(__file__).resolve().parents[2], env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1


def test_review_starts_with_bold_name_and_references_content() -> None:
    text = ENGINE.persona_review(persona("lena-low-vision-reader"), CONTRAST).text
    assert text.startswith("**Lena, low-vision reader**")
    assert "hard to read against the white background" in text
    assert "`/about`" in text and "`footer p.small`" in text
    assert "2.32:1" in text  # the computed contrast of #aaa on #fff
    assert "11px" in text
    assert re.search(r"\*\*Severity: (low|medium|high)\*\*", text)


def test_review_length_is_two_to_five_sentences() -> None:
    for p in DEFAULT_PERSONAS[::7]:
        for annotation in (CONTRAST, CHECKOUT_CRASH, TYPO, PRAISE):
            text = ENGINE.persona_review(PersonaBrief(**p.model_dump()), annotation).text
            prose = re.sub(r"“[^”]*”", "Q", text)  # quoted bodies hold their own punctuation
            prose = re.sub(r"\d+\.\d+", "N", prose)
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", prose.strip()) if s]
            assert 2 <= len(sentences) <= 5, text


def test_relevance_changes_the_review() -> None:
    ada = persona("lena-low-vision-reader")
    in_focus = ENGINE.persona_review(ada, CONTRAST).text
    unrelated = ENGINE.persona_review(ada, CHECKOUT_CRASH).text
    assert in_focus != unrelated
    assert "in my focus" in in_focus and "contrast" in in_focus
    assert "outside" not in in_focus and "Not my area" not in in_focus
    assert "Not my area" in unrelated or "outside" in unrelated
    assert "I'd check" in unrelated


def test_relevance_ranks_personas() -> None:
    assert relevance(persona("lena-low-vision-reader"), CONTRAST)[0] >= 2
    assert "contrast" in relevance(persona("lena-low-vision-reader"), CONTRAST)[1]
    assert relevance(persona("lena-low-vision-reader"), CHECKOUT_CRASH)[0] == 0
    ranked = sorted(DEFAULT_PERSONAS, key=lambda p: -relevance(PersonaBrief(**p.model_dump()), CHECKOUT_CRASH)[0])
    assert ranked[0].slug == "victor-checkout-optimiser"


def test_out_of_focus_persona_is_brief() -> None:
    unrelated = ENGINE.persona_review(persona("ben-release-manager"), TYPO).text
    related = ENGINE.persona_review(persona("clara-copy-editor"), TYPO).text
    assert len(unrelated) < len(related) + 40
    assert "**Recommendation:**" in related and "recieve" in related


def test_severity_high_for_checkout_crash() -> None:
    assert assess(CHECKOUT_CRASH).severity == "high"
    text = ENGINE.persona_review(persona("victor-checkout-optimiser"), CHECKOUT_CRASH).text
    assert "**Severity: high**" in text
    assert "checkout" in text.lower() and "`button#pay`" in text


def test_severity_levels_follow_content() -> None:
    assert assess(PRAISE).severity == "low"
    assert assess(TYPO).severity == "low"
    assert assess(CONTRAST).severity == "high"  # 2.32:1 is far below even the 3:1 large-text bar
    slow = AnnotationBrief(id="a", kind="performance", status="new",
                           body="The product grid is slow to appear.", page_url="/shop")
    assert assess(slow).severity == "medium"


def test_transparent_background_is_not_flagged_as_low_contrast() -> None:
    hero = AnnotationBrief(id="a", kind="design", status="new", body="Nice hero", page_url="/",
                           computed_styles={"color": "#ffffff", "background-color": "rgba(0, 0, 0, 0)"})
    assert not any("contrast" in o for o in assess(hero).observations)


def test_review_voice_follows_persona() -> None:
    blunt = ENGINE.persona_review(persona("victor-checkout-optimiser"), CHECKOUT_CRASH).text
    warm = ENGINE.persona_review(persona("hana-form-specialist"), CHECKOUT_CRASH).text
    assert "**Fix:**" in blunt
    assert "Thanks for flagging" in warm


def test_custom_persona_with_unknown_voice_still_reviews() -> None:
    custom = PersonaBrief(slug="quinn", name="Quinn, custom", category="brand",
                          focus=("logo", "illustration"), voice="sardonic")
    text = ENGINE.persona_review(custom, PRAISE).text
    assert text.startswith("**Quinn, custom**")
    assert "my focus on illustration" in text and "outside" not in text


# ---- task instructions ----------------------------------------------------------------------

def test_doc_example_rewrite() -> None:
    result = ENGINE.task_instruction("Make the hero heading larger and bold.", "/")
    assert result.text == "Increase the hero heading font size and set font-weight to bold."
    assert result.engine == "offline"


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("Make the hero heading larger and bold.", "Increase the hero heading font size"),
        ("make logo bigger", "Increase the size of the logo."),
        ("The checkout button is broken", "Fix the checkout button so that it works again"),
        ("The links don't work", "Fix the links so that they work."),
        ("Remove the banner", "Remove the banner."),
        ("Please add a FAQ section", "Add a FAQ section."),
        ("Move the price above the title", "Move the price above the title."),
        ("There's a typo in 'recieve'", "Correct the spelling of “recieve”."),
        ("The footer text is hard to read", "Increase the contrast"),
        ("I don't like the font", "Revise the font"),
        ("Can we make the CTA more prominent?", "Increase the visual prominence of the CTA."),
        ("Could you add a search bar?", "Add a search bar."),
        ("The menu should close when clicking outside", "Update the menu so that it will close"),
        ("Should the menu close when I click outside?", "Decide whether the menu should close"),
        ("Change the button to green", "Change the color of the button to green."),
        ("The heading is too small", "Increase the heading font size."),
        ("I can't log in to my account", "Make sure users can log in to their account."),
        ("The cards overlap the footer", "Fix the overlap between the cards and the footer."),
    ],
)
def test_common_phrasings(comment: str, expected: str) -> None:
    assert ENGINE.task_instruction(comment, "/").text.startswith(expected)


VERB = re.compile(r"^(Increase|Decrease|Fix|Remove|Add|Move|Correct|Revise|Change|Update|Decide|"
                  r"Make|Review|Set|Answer|Align|Improve|Reduce|Look|Consider|Hide|Replace)\b")


@pytest.mark.parametrize("comment", ["Make the hero heading larger and bold.", "hmm", "why is this here?",
                                     "The price is wrong", "the logo!!"])
def test_instruction_is_imperative(comment: str) -> None:
    assert VERB.match(ENGINE.task_instruction(comment, "/").text)


def test_page_path_is_mentioned_when_not_root() -> None:
    text = ENGINE.task_instruction("Make the hero heading larger and bold.", "/pricing").text
    assert text == "Increase the hero heading font size and set font-weight to bold on /pricing."
    root = ENGINE.task_instruction("Make the hero heading larger and bold.", "/").text
    assert " on /" not in root
    assert "/pricing" in ENGINE.task_instruction("hmm, not sure", "/pricing").text


def test_fallback_quotes_comment_and_page() -> None:
    text = ENGINE.task_instruction("The vibe here is just not there for me", "/about").text
    assert text == "Review and address the feedback on /about: The vibe here is just not there for me."
    assert ENGINE.task_instruction(" ?! ", "/about").text == (
        "Review the pinned element on /about; the reviewer left no comment.")


def test_at_most_two_sentences() -> None:
    text = ENGINE.task_instruction("Remove the banner. Add a FAQ. Make the logo bigger.", "/").text
    assert text == "Remove the banner. Add a FAQ."


@given(st.text(max_size=200), st.sampled_from(["/", "/pricing", ""]))
@settings(max_examples=200, deadline=None)
def test_instruction_never_empty_and_ends_with_period(content: str, page: str) -> None:
    first = ENGINE.task_instruction(content, page).text
    assert first.strip() and first.endswith(".")
    assert first == ENGINE.task_instruction(content, page).text


# ---- test-session analysis ------------------------------------------------------------------

DOC_SESSION = TestSessionBrief(
    session_id="sess_001", variant="A", duration_seconds=1920,
    notes=["Tester struggled with the checkout flow.", "Updated: tester recovered after second attempt."],
    feedback=SessionFeedbackBrief(clarity=4, difficulty=3, technical_issues=False,
                                  comment="Instructions were clear but the prototype had a broken back button."),
)


def test_analysis_detects_issues_from_notes_and_feedback() -> None:
    result = ENGINE.analyze_test_session(DOC_SESSION)
    assert isinstance(result, AnalysisResult) and result.engine == "offline"
    assert "Tester struggled with the checkout flow." in result.issues
    assert any("broken back button" in i for i in result.issues)
    assert any("recovered" in h for h in result.highlights)
    assert any("clarity 4/5" in h for h in result.highlights)
    assert result.sentiment == "mixed"
    assert result.completion_minutes == 32.0
    assert "32 minutes" in result.summary and "sess_001" in result.summary


def test_analysis_sentiment_varies() -> None:
    good = TestSessionBrief(session_id="s1", duration_seconds=600,
                            notes=["Completed all tasks quickly and without help.", "Did not struggle at all."],
                            feedback=SessionFeedbackBrief(clarity=5, difficulty=2, technical_issues=False))
    bad = TestSessionBrief(session_id="s2", duration_seconds=900,
                           notes=["Tester got stuck on the login page.", "Payment form failed twice."],
                           feedback=SessionFeedbackBrief(clarity=2, difficulty=5, technical_issues=True))
    good_result, bad_result = ENGINE.analyze_test_session(good), ENGINE.analyze_test_session(bad)
    assert good_result.sentiment == "positive" and good_result.issues == []
    assert bad_result.sentiment == "negative"
    assert "Tester reported technical issues during the session." in bad_result.issues
    assert any("difficulty 5/5" in i for i in bad_result.issues)
    assert any("clarity 2/5" in i for i in bad_result.issues)
    assert good_result.summary != bad_result.summary


def test_analysis_negated_problem_is_not_an_issue() -> None:
    result = ENGINE.analyze_test_session(TestSessionBrief(session_id="s", notes=["No issues with the form."]))
    assert result.issues == [] and result.highlights == ["No issues with the form."]


def test_completion_minutes_from_duration() -> None:
    assert ENGINE.analyze_test_session(TestSessionBrief(session_id="s", duration_seconds=90)).completion_minutes == 1.5
    assert ENGINE.analyze_test_session(TestSessionBrief(session_id="s")).completion_minutes is None
    empty = ENGINE.analyze_test_session(TestSessionBrief(session_id="s"))
    assert empty.sentiment == "mixed" and empty.summary


@pytest.mark.parametrize(("seconds", "said"), [
    (30, "0.5 minutes"), (60, "1 minute"), (1920, "32 minutes"), (7140, "119 minutes"), (7200, "2 hours"),
    (7260, "2 hours 1 minute"), (11520, "3 hours 12 minutes"), (3 * 86400 + 3600, "3 days 1 hour"),
    (2_274_742_611, "26328 days 1 hour"),
])
def test_durations_read_as_words_never_in_scientific_notation(seconds: int, said: str) -> None:
    assert duration_words(seconds) == said


def test_a_long_session_is_said_in_hours_or_days() -> None:
    summary = ENGINE.analyze_test_session(TestSessionBrief(session_id="s", duration_seconds=2_274_742_611)).summary
    assert "took 26328 days 1 hour" in summary and "e+" not in summary
    result = ENGINE.analyze_test_session(TestSessionBrief(session_id="s", duration_seconds=3 * 3600))
    assert result.issues == ["Session ran long (3 hours), so tasks took longer than planned."]


def test_analysis_is_deterministic() -> None:
    assert ENGINE.analyze_test_session(DOC_SESSION) == ENGINE.analyze_test_session(DOC_SESSION)
