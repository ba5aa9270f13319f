"""Persona reviews of annotations: what an annotation signals, whom it concerns, and the review text.

``assess`` reads an annotation the same way for every persona; ``relevance`` scores how far
it falls in a persona's focus; ``write_review`` puts both into the persona's voice.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import urlparse

from workbench.engine.base import AnnotationBrief, PersonaBrief, Severity
from workbench.engine.instructions import instruction_clauses
from workbench.engine.text import contrast_finding, font_size_px, phrase_in, quote, tokens

__all__ = ["Assessment", "assess", "relevance", "write_review"]

_LEVELS: tuple[Severity, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class _Signal:
    """A kind of problem recognisable from words, with who cares and what to do about it."""

    key: str
    phrases: tuple[str, ...]
    categories: tuple[str, ...]
    level: int
    advice: str
    reason: str


_SIGNALS: tuple[_Signal, ...] = (
    _Signal("failure", ("crash", "broken", "break", "doesn't work", "does not work", "not working",
                        "isn't working", "won't", "can't", "cannot", "couldn't", "unable", "fail",
                        "freeze", "frozen", "blank page", "white screen", "exception", "500",
                        "404", "data loss", "stuck"),
            ("engineering", "usability", "conversion"), 2,
            "reproduce it on {page}, capture the console and network errors, and fix the failing path "
            "before any polish",
            "it stops people from completing what they came to do"),
    _Signal("security", ("leak", "exposed", "xss", "injection", "insecure", "not secure",
                         "password visible", "phishing", "scam"),
            ("security-privacy", "engineering"), 2,
            "close the exposure first (hide the data or patch the input), then check how long it was "
            "visible and to whom", "it can expose users or their data"),
    _Signal("revenue", ("checkout", "payment", "pay", "cart", "purchase", "billing",
                        "subscribe", "signup", "sign up"),
            ("conversion", "security-privacy"), 1,
            "treat it as revenue-critical and test the whole purchase flow end to end after the change",
            "it sits on the path to revenue"),
    _Signal("contrast", ("contrast", "hard to read", "hard to see", "faint", "washed out",
                         "light grey", "light gray", "illegible", "unreadable", "can't read"),
            ("accessibility", "design"), 1,
            "raise the text/background contrast of {target} to at least 4.5:1 (WCAG 1.4.3), "
            "e.g. by darkening the text colour",
            "low-vision readers may not be able to read it"),
    _Signal("small-text", ("tiny", "too small", "small text", "font size", "font-size", "squint"),
            ("accessibility", "design", "mobile"), 1,
            "raise the font-size of {target} to at least 16px for body text and check it at 200% zoom",
            "small text is hard to read, especially on phones"),
    _Signal("assistive", ("keyboard", "screen reader", "screen-reader", "aria", "alt text",
                          "focus ring", "focus outline", "tabbing", "voiceover", "nvda"),
            ("accessibility",), 1,
            "test {target} with the keyboard alone and a screen reader, and give it a visible focus "
            "state and an accessible name", "keyboard and screen-reader users may be locked out"),
    _Signal("performance", ("slow", "lag", "laggy", "jank", "stutter", "takes forever",
                            "long time", "loading", "spinner", "heavy"),
            ("performance", "mobile"), 1,
            "profile the page load on {page} and defer, compress or cache whatever delays {target}",
            "waiting costs attention and conversions"),
    _Signal("layout", ("overlap", "misaligned", "alignment", "not aligned", "spacing", "padding",
                       "margin", "cut off", "clipped", "overflow", "truncated", "off center",
                       "off-center", "cramped", "squashed"),
            ("design", "mobile", "localization"), 1,
            "fix the layout of {target}: align it to the grid and give it room so nothing overlaps "
            "or clips", "broken layout makes the page look unfinished"),
    _Signal("mobile", ("mobile", "phone", "iphone", "android", "tablet", "ipad", "tap", "touch",
                       "swipe", "viewport", "small screen"),
            ("mobile",), 1,
            "test {target} on a 320px-wide phone and make its tap targets at least 44x44px",
            "most visitors are on phones"),
    _Signal("clarity", ("confusing", "confused", "unclear", "don't understand", "not sure",
                        "vague", "jargon", "misleading", "no idea", "what does"),
            ("content", "usability", "conversion"), 1,
            "rewrite the label or copy of {target} so its purpose is obvious, then check it with "
            "someone new to the page", "people hesitate when they don't understand"),
    _Signal("privacy", ("cookie", "consent", "tracking", "gdpr", "privacy", "personal data"),
            ("security-privacy", "engineering"), 1,
            "check what data is collected here and that consent is asked before it is",
            "it touches personal data and consent"),
    _Signal("localization", ("translation", "translated", "untranslated", "language", "locale",
                             "currency", "rtl"),
            ("localization",), 1,
            "check the string in every supported locale and move it into the translation files "
            "if it is hard-coded", "it breaks the page for other markets"),
    _Signal("navigation", ("navigation", "menu", "can't find", "cannot find", "breadcrumb",
                           "dead end", "link", "search"),
            ("usability", "content"), 1,
            "make the path to it obvious from the menu and search, and confirm every link lands "
            "where it says", "people who can't find things leave"),
    _Signal("copy", ("typo", "spelling", "misspelled", "misspelt", "grammar", "capitalization",
                     "capitalisation", "wording", "punctuation"),
            ("content", "localization"), 0,
            "correct the copy and run a spell-check pass over the rest of the page",
            "it is cosmetic but erodes trust"),
    _Signal("visual", ("color", "colour", "font", "bold", "larger", "bigger", "smaller", "ugly",
                       "style", "logo", "image", "icon", "design", "heading", "looks off"),
            ("design", "content"), 0,
            "align {target} with the design system's type scale and palette rather than a one-off "
            "tweak", "it is a visual refinement"),
    _Signal("praise", ("love", "great", "nice", "awesome", "perfect", "well done", "beautiful"),
            (), 0, "keep {target} as it is and reuse the pattern elsewhere", "it is praise, not a problem"),
)

# Kinds are free text in the documents; these are the common ones and what they point at.
_KIND_LEVEL = {"bug": 1, "security": 2, "accessibility": 1, "a11y": 1, "performance": 1}
_KIND_CATEGORIES = {
    "bug": ("engineering",), "accessibility": ("accessibility",), "a11y": ("accessibility",),
    "design": ("design",), "ui": ("design",), "copy": ("content",), "content": ("content",),
    "typo": ("content",), "performance": ("performance",), "perf": ("performance",),
    "security": ("security-privacy",), "privacy": ("security-privacy",), "mobile": ("mobile",),
    "ux": ("usability",), "usability": ("usability",), "translation": ("localization",),
    "i18n": ("localization",), "conversion": ("conversion",),
}

# What each default category would check even on an annotation outside its focus.
_CATEGORY_CHECK = {
    "accessibility": "that the element keeps a visible focus state and an accessible name",
    "content": "that the surrounding copy stays correct and consistent",
    "conversion": "that the fix adds no friction on the path to sign-up or purchase",
    "design": "that the fix stays consistent with the design system",
    "engineering": "that the fix comes with a regression test",
    "localization": "that any new copy goes through translation",
    "mobile": "that it still works on a 320px-wide phone",
    "performance": "that the fix adds no weight to the page load",
    "security-privacy": "that no personal data shows up in the element or its URL",
    "usability": "that people can still finish the main task around it",
}

# Voice registers: which persona voices read as which, and the phrases each uses.
_REGISTERS: tuple[tuple[str, tuple[str, ...], str, str, str], ...] = (
    ("blunt", ("blunt", "direct", "terse", "decisive", "impatient", "firm", "dry", "matter"),
     "Straight to it, the {kind} note{where} reads", "Fix:", "Not my area"),
    ("warm", ("warm", "encourag", "gentle", "friendly", "patient", "polite", "casual", "easygoing",
              "playful", "enthusias", "energetic", "calm", "kind"),
     "Thanks for flagging the {kind} note{where}, which reads", "A good next step:",
     "This sits outside my focus"),
    ("formal", ("formal", "precise", "methodical", "exacting", "meticulous", "cautious", "serious",
                "analytical", "data", "technical", "explanatory", "criteria"),
     "Regarding the {kind} note{where}, which reads", "Recommendation:",
     "This falls outside my remit"),
    ("curious", ("curious", "skeptical", "sceptical", "thoughtful", "wry"),
     "Looking at the {kind} note{where}, which reads", "I'd try this:",
     "This is outside my focus"),
)


@dataclass(frozen=True)
class Assessment:
    """What the engine reads from an annotation, independent of who reviews it."""

    words: tuple[str, ...]
    signals: tuple[_Signal, ...]
    severity: Severity
    reason: str
    observations: tuple[str, ...]


def _register(persona: PersonaBrief) -> tuple[str, str, str]:
    voice = persona.voice.lower()
    for _, cues, opener, recommend, outside in _REGISTERS:
        if any(cue in voice for cue in cues):
            return opener, recommend, outside
    # An unknown voice still gets a stable register, chosen by the persona's own slug.
    _, _, opener, recommend, outside = _REGISTERS[zlib.crc32(persona.slug.encode()) % len(_REGISTERS)]
    return opener, recommend, outside


def _page(page_url: str) -> str:
    parsed = urlparse(page_url)
    return (parsed.path or "/") if parsed.scheme else (page_url or "/")


def assess(annotation: AnnotationBrief) -> Assessment:
    """Signals, severity and style observations of ``annotation``, the same for every persona."""
    styles = {k.lower(): v for k, v in (annotation.computed_styles or {}).items()}
    observations: list[str] = []
    extra: list[str] = []
    contrast = contrast_finding(styles)
    if contrast is not None and contrast[0] < contrast[1]:
        ratio, minimum, fg, bg = contrast
        observations.append(f"The computed colours (`{fg}` on `{bg}`) give a contrast of "
                            f"{ratio:.2f}:1, below the {minimum:g}:1 WCAG AA minimum.")
        extra.append("contrast")
    size = font_size_px(styles.get("font-size", ""))
    if size is not None and size < 12:
        observations.append(f"{'the' if observations else 'The'} computed font-size is {size:g}px, "
                            "which is hard to read.")
        extra.append("small text")
    text = " ".join(filter(None, (annotation.kind, annotation.body, annotation.summary, *extra)))
    words = tokens(text)
    signals = tuple(s for s in _SIGNALS if any(phrase_in(words, p) for p in s.phrases))
    if size is not None and not observations and any(s.key in ("small-text", "visual") for s in signals):
        observations.append(f"It currently renders at font-size {size:g}px.")
    kind = annotation.kind.lower()
    problems = tuple(s for s in signals if s.key not in ("praise", "revenue"))
    level = max([_KIND_LEVEL.get(kind, 0), *(s.level for s in signals if s.key != "praise")])
    reason = max(signals, key=lambda s: s.level).reason if signals else "it is a minor refinement"
    if any(s.key == "revenue" for s in signals) and (problems or kind == "bug"):
        level, reason = 2, "it is a problem on the path to revenue"
    if contrast is not None and contrast[0] < 3:
        level, reason = 2, "the text is far below the minimum contrast"
    if kind == "praise" or (signals and all(s.key == "praise" for s in signals)):
        level, reason = 0, "it is praise, not a problem"
    return Assessment(words, signals, _LEVELS[level], reason, tuple(observations))


def _relevance(persona: PersonaBrief, annotation: AnnotationBrief, found: Assessment) -> tuple[int, list[str]]:
    matched = [kw for kw in persona.focus if phrase_in(found.words, kw)]
    related = set(_KIND_CATEGORIES.get(annotation.kind.lower(), ()))
    related.update(c for s in found.signals for c in s.categories)
    affinity = persona.category in related or phrase_in(found.words, persona.category)
    return len(matched) + (1 if affinity else 0), matched


def relevance(persona: PersonaBrief, annotation: AnnotationBrief) -> tuple[int, list[str]]:
    """(score, matched focus keywords): 0 means outside the persona's focus, 2+ squarely in it.

    Services can rank personas with this before a run, so the ones picked are the ones whose
    reviews will be in focus.
    """
    return _relevance(persona, annotation, assess(annotation))


def _advice(persona: PersonaBrief, found: Assessment, body: str, target: str, page: str) -> str:
    ranked = sorted(found.signals, key=lambda s: (persona.category not in s.categories, -s.level))
    chosen = ranked[0] if ranked else None
    # A concrete request ("make the heading bold") beats generic advice for soft signals.
    asked = instruction_clauses(" ".join(body.split()))
    soft = chosen is None or (chosen.level == 0 and chosen.key != "praise")
    if soft and asked and not asked[0].startswith("Answer"):
        advice = asked[0][0].lower() + asked[0][1:]
        if chosen is not None and chosen.key == "visual":
            advice += ", staying on the design system's type scale and palette"
    elif chosen is None:
        advice = f"confirm the expected behaviour with the reporter and adjust {target} accordingly"
    else:
        advice = chosen.advice.format(target=target, page=page)
    if chosen is not None and chosen.key != "revenue" and any(s.key == "revenue" for s in found.signals):
        advice += "; it is on the purchase path, so retest checkout end to end afterwards"
    return advice


def write_review(persona: PersonaBrief, annotation: AnnotationBrief) -> str:
    """A short markdown review of ``annotation`` in ``persona``'s voice, ending with a severity."""
    found = assess(annotation)
    opener, recommend, outside = _register(persona)
    page = _page(annotation.page_url)
    target = f"`{annotation.selector}`" if annotation.selector else "the element"
    where = f" on `{page}`" + (f" at `{annotation.selector}`" if annotation.selector else "")
    kind = annotation.kind.strip().lower() or "feedback"
    body = quote(annotation.body) or "(no comment)"
    end = "" if body[-1] in ".!?…" else "."
    score, matched = _relevance(persona, annotation, found)
    severity = f"**Severity: {found.severity}** — {found.reason}."
    head = f"**{persona.name}**"
    praise = found.reason.startswith("it is praise")
    if score == 0:
        focus = ", ".join(persona.focus[:3]) or persona.category
        check = _CATEGORY_CHECK.get(persona.category, f"how it affects {focus}")
        aside = "Nothing to fix from where I stand." if praise else f"Even so, I'd check {check}."
        return (f"{head} — {outside} ({focus}), so briefly: the {kind} note{where} reads "
                f"“{body}”{end} {aside}\n\n{severity}")
    if score >= 2:
        fit = f"This is squarely in my focus ({', '.join(matched) or persona.category})."
    else:
        fit = f"It touches my focus on {', '.join(matched) or persona.category}."
    if found.severity == "low" and score >= 3 and not praise:
        severity = f"**Severity: medium** — {found.reason}, and it is central to what I review."
    seen = "; ".join(o.rstrip(".") for o in found.observations)
    lines = [f"{head} — {opener.format(kind=kind, where=where)}: “{body}”{end}",
             *([seen + "."] if seen else []), fit]
    advice = _advice(persona, found, annotation.body, target, page)
    return " ".join(lines) + f"\n\n**{recommend}** {advice[0].upper()}{advice[1:]}.\n\n{severity}"
