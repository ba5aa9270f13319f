"""The offline reviewer engine: deterministic, rule-based reviews, task instructions and analyses.

No network, no randomness, no clock: the same input always yields the same text, so the
product works fully offline and its outputs can be tested and diffed. Iteration is always
over tuples or sorted data, never sets, because set order varies with the hash seed.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from urllib.parse import urlparse

from workbench.engine.base import (
    AnalysisResult,
    AnnotationBrief,
    EngineResult,
    PersonaBrief,
    Severity,
    TestSessionBrief,
)

__all__ = ["Assessment", "OfflineEngine", "assess", "relevance", "rewrite_instruction"]

_LEVELS: tuple[Severity, ...] = ("low", "medium", "high")


# ---- words and styles ---------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    # Just enough folding that "crashes", "crashed" and "crashing" meet "crash".
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def tokens(text: str) -> tuple[str, ...]:
    """Stemmed lowercase words of ``text``; hyphens split, so "font-size" is two words."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return tuple(_stem(w) for w in _WORD.findall(text))


def phrase_in(words: tuple[str, ...], phrase: str) -> bool:
    """Whether the stemmed words of ``phrase`` occur consecutively in ``words``."""
    needle = tokens(phrase)
    if not needle:
        return False
    size = len(needle)
    return any(words[i:i + size] == needle for i in range(len(words) - size + 1))


def quote(text: str, limit: int = 140) -> str:
    """``text`` on one line, cut at a word boundary so quotes stay short."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


_NAMED = {"black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128),
          "grey": (128, 128, 128), "silver": (192, 192, 192), "red": (255, 0, 0),
          "green": (0, 128, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
          "orange": (255, 165, 0)}


def _color(value: str) -> tuple[float, float, float, float] | None:
    v = value.strip().lower()
    if v in _NAMED:
        return (*_NAMED[v], 1.0)
    if v == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    if m := re.fullmatch(r"#([0-9a-f]{3,8})", v):
        h = m.group(1)
        h = "".join(c * 2 for c in h) if len(h) in (3, 4) else h
        if len(h) not in (6, 8):
            return None
        alpha = int(h[6:8], 16) / 255 if len(h) == 8 else 1.0
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha)
    if m := re.fullmatch(r"rgba?\(([^)]*)\)", v):
        parts = [p for p in re.split(r"[\s,/]+", m.group(1)) if p]
        try:
            rgb = [float(p[:-1]) * 2.55 if p.endswith("%") else float(p) for p in parts[:3]]
            alpha = 1.0 if len(parts) < 4 else (
                float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3]))
        except ValueError:
            return None
        return (rgb[0], rgb[1], rgb[2], alpha) if len(rgb) == 3 else None
    return None


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def font_size_px(value: str) -> float | None:
    """A CSS font-size in px; rem/em assume the 16px browser default."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(px|rem|em|pt)?\s*", value.lower())
    if not m:
        return None
    factor = {"rem": 16.0, "em": 16.0, "pt": 4 / 3}.get(m.group(2) or "px", 1.0)
    return round(float(m.group(1)) * factor, 2)


def contrast_finding(styles: dict[str, str]) -> tuple[float, float, str, str] | None:
    """(ratio, WCAG AA minimum, fg, bg) from computed styles, or None when undecidable.

    A transparent background is undecidable: the colour behind it belongs to an ancestor
    the widget did not capture, and guessing white would flag white-on-hero text wrongly.
    """
    fg_raw = styles.get("color", "")
    bg_raw = styles.get("background-color") or styles.get("background", "")
    fg, bg = _color(fg_raw), _color(bg_raw)
    if fg is None or bg is None or bg[3] == 0:
        return None

    def over(top: tuple[float, ...], under: tuple[float, ...]) -> tuple[float, float, float]:
        a = top[3]
        return (top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a),
                top[2] * a + under[2] * (1 - a))

    back = over(bg, (255, 255, 255, 1))
    front = over(fg, (*back, 1))
    light, dark = sorted((_luminance(front), _luminance(back)), reverse=True)
    ratio = (light + 0.05) / (dark + 0.05)
    size = font_size_px(styles.get("font-size", "")) or 16
    weight = styles.get("font-weight", "400").strip().lower()
    bold = weight == "bold" or (weight.isdigit() and int(weight) >= 700)
    minimum = 3.0 if size >= 24 or (size >= 18.66 and bold) else 4.5
    return (round(ratio, 2), minimum, fg_raw.strip(), bg_raw.strip())


# ---- persona reviews ------------------------------------------------------------------------

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
    asked = _clauses(" ".join(body.split()))
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


# ---- task instructions ----------------------------------------------------------------------

_I = re.IGNORECASE
_DETERMINERS = ("the", "this", "that", "these", "those", "a", "an", "my", "our", "your", "its",
                "their", "all", "every", "each", "some", "any")
_TEXTISH = ("heading", "headline", "title", "subtitle", "subheading", "text", "copy", "font",
            "label", "paragraph", "caption", "tagline", "h1", "h2", "h3", "h4", "quote",
            "description", "wording", "link")
_COLORS = ("red", "green", "blue", "black", "white", "gray", "grey", "orange", "yellow",
           "purple", "pink", "brown", "navy", "teal")
_GROW = ("larger", "bigger", "big", "large", "huge")
_SHRINK = ("smaller", "small", "tinier")
_AS_IS = ("consistent", "sticky", "clickable", "responsive", "accessible", "scrollable",
          "collapsible", "full-width", "rounded", "transparent", "readable", "bolder")
_ADJECTIVES = frozenset(_GROW + _SHRINK + _COLORS + _AS_IS + (
    "bold", "italic", "underlined", "wider", "narrower", "taller", "shorter", "darker",
    "lighter", "brighter", "visible", "prominent", "noticeable", "obvious", "centered",
    "centred", "clearer", "simpler"))
_SOFTENERS = frozenset(("and", "more", "much", "a", "bit", "little", "lot", "slightly", "way",
                        "far", "really", "very", "even", "both"))
_VERBS = frozenset((
    "add", "remove", "fix", "change", "update", "increase", "decrease", "reduce", "replace",
    "move", "align", "center", "centre", "hide", "show", "use", "set", "rename", "rewrite",
    "shorten", "make", "ensure", "check", "delete", "swap", "include", "translate", "darken",
    "lighten", "enlarge", "adjust", "improve", "simplify", "test", "verify", "investigate",
    "clarify", "correct", "drop", "lower", "raise", "keep", "consider", "reorder", "resize",
    "restyle", "write", "create", "display", "disable", "enable", "allow", "stop", "avoid",
    "look", "review", "explore", "link", "highlight", "emphasize", "emphasise", "space", "pad"))
# "Put X on the right" reads as "move X to the right".
_PREPOSITIONS = {"on": "to", "at": "to", "in": "into"}
_TOO = {"small": "larger", "tiny": "larger", "big": "smaller", "large": "smaller",
        "huge": "smaller", "dark": "lighter", "wide": "narrower", "narrow": "wider",
        "tall": "shorter"}
_TOO_PHRASES = {"long": "Shorten {s}", "short": "Lengthen {s}", "bright": "Tone down {s}",
                "loud": "Tone down {s}", "busy": "Simplify {s} and remove what isn't needed",
                "cluttered": "Simplify {s} and remove what isn't needed",
                "crowded": "Simplify {s} and remove what isn't needed",
                "complicated": "Simplify {s}", "complex": "Simplify {s}",
                "slow": "Improve the performance of {s}", "fast": "Slow down {s}",
                "bold": "Reduce the font weight of {s}", "thin": "Increase the font weight of {s}",
                "close": "Increase the spacing between {s} and {other}",
                "far": "Reduce the spacing between {s} and {other}"}
_FILLER = re.compile(r"^(?:please|pls|plz|hey|hi|ok|okay|so|also|and|but|maybe|perhaps|i think|"
                     r"i feel like|i feel|imo|in my opinion|honestly|just|nit|nitpick|minor)"
                     r"[,:]?\s+", _I)


def _subject(raw: str) -> str:
    s = raw.strip(" ,.;:!?")
    low = s.lower()
    if low in ("", "it", "this", "that", "this one", "that one", "this thing"):
        return "this element"
    if low in ("they", "them", "these", "those"):
        return "these elements"
    first, _, rest = s.partition(" ")
    if first.lower() in _DETERMINERS:
        return first.lower() + (" " + rest if rest else "")
    return s if s[0] in "\"'“‘" else "the " + s


def _pronoun(subject: str) -> str:
    last = subject.split()[-1].lower()
    plural = last.endswith("s") and not last.endswith(("ss", "us")) or subject == "these elements"
    return "they" if plural else "it"


def _adjective(adj: str, s: str) -> tuple[str, str] | None:
    """(full clause naming ``s``, short clause for a follow-up) for one adjective."""
    texty = any(w.strip("'s") in _TEXTISH for w in s.lower().split())
    if adj in _GROW or adj in _SHRINK:
        verb = "Increase" if adj in _GROW else "Decrease"
        if texty:
            full = f"{verb} the {s[4:]} font size" if s.startswith("the ") else \
                f"{verb} the font size of {s}"
            return full, f"{verb.lower()} the font size"
        return f"{verb} the size of {s}", f"{verb.lower()} its size"
    if adj in ("bold", "bolder"):
        return f"Set the font-weight of {s} to bold", "set font-weight to bold"
    if adj == "italic":
        return f"Set the font-style of {s} to italic", "set font-style to italic"
    if adj == "underlined":
        return f"Underline {s}", "underline it"
    if adj == "shorter" and texty:
        return f"Shorten {s}", "shorten it"
    dims = {"wider": ("Increase", "width"), "narrower": ("Decrease", "width"),
            "taller": ("Increase", "height"), "shorter": ("Decrease", "height")}
    if adj in dims:
        verb, dim = dims[adj]
        return f"{verb} the {dim} of {s}", f"{verb.lower()} its {dim}"
    if adj in ("darker", "lighter", "brighter"):
        verb = {"darker": "Darken", "lighter": "Lighten", "brighter": "Brighten"}[adj]
        return f"{verb} the color of {s}", f"{verb.lower()} its color"
    if adj in _COLORS:
        return f"Change the color of {s} to {adj}", f"change its color to {adj}"
    if adj in ("visible", "prominent", "noticeable", "obvious"):
        return f"Increase the visual prominence of {s}", "increase its visual prominence"
    if adj in ("centered", "centred"):
        return f"Center {s}", "center it"
    if adj in ("clearer", "simpler"):
        return f"Rewrite {s} to be {adj}", f"make it {adj}"
    if adj in _AS_IS:
        return f"Make {s} {adj}", f"make it {adj}"
    return None


def _adjectives(adjs: list[str], s: str) -> str | None:
    clauses = [c for c in (_adjective(a, s) for a in adjs) if c]
    if not clauses:
        return None
    parts = [clauses[0][0], *(short for _, short in clauses[1:])]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _make(tail: str) -> str | None:
    # "the hero heading larger and bold": adjectives are read backwards from the end.
    words = tail.replace(",", " ").split()
    cut = len(words)
    while cut > 0 and (words[cut - 1].lower() in _ADJECTIVES or words[cut - 1].lower() in _SOFTENERS):
        cut -= 1
    tail_words = [w.lower() for w in words[cut:]]
    adjs = [w for w in tail_words if w in _ADJECTIVES]
    if not adjs or "less" in tail_words:
        return None
    return _adjectives(list(dict.fromkeys(adjs)), _subject(" ".join(words[:cut])))


def _ask(rest: str) -> str | None:
    first = rest.split(" ", 1)[0].lower()
    if first in ("have", "get"):
        return "Add " + rest.split(" ", 1)[1] if " " in rest else None
    return _clause(rest) or (rest[0].upper() + rest[1:] if first in _VERBS else None)


def _clause(s: str) -> str | None:
    """One instruction clause (no final period) for one sentence, or None if no rule fits."""
    def m(pattern: str) -> re.Match[str] | None:
        return re.match(pattern, s, _I)

    if r := m(r"^(?:can|could|would|will|shall) (?:we|you|someone|somebody|u) (?:please |maybe |"
              r"possibly |also )?(.+)$|^(?:is it possible to|would it be possible to|why not|"
              r"we should|you should|we need to|we must|we have to|we could|let's|lets|let us|"
              r"i'd like to|i would like to|it would be (?:nice|great|good) to|try to|try and) (.+)$"):
        return _ask(r.group(1) or r.group(2))
    if r := m(r"^should (?:we|i|you) (.+)$"):
        return _ask(r.group(1))
    if r := m(r"^should ((?:the|this|that|these|those|our|my|it)\b.*?) (be|have|close|open|show|stay|"
              r"scroll|say|link|go|appear|look|use|work|load|collapse|expand|hide|display|move|"
              r"sort|filter|default|remember|redirect|match|start|stop|play|autoplay)\b(.*)$"):
        return (f"Decide whether {_subject(r.group(1))} should {r.group(2).lower()}{r.group(3)}, "
                "and make the change if so")
    if r := m(r"^(?:what|how) about (.+)$"):
        return f"Consider {r.group(1)}"
    if r := m(r"^(?:is|are) (.+?) supposed to (.+)$"):
        return f"Check whether {_subject(r.group(1))} should {r.group(2)}, and fix it if not"
    if re.search(r"\b(?:typos?|spelling|misspel\w*|spelt wrong|spelled wrong|grammar\w*)\b", s, _I):
        quoted = re.findall(r"(?<!\w)[\"'“‘]([^\"“”]+?)[\"'”’](?!\w)", s)
        if len(quoted) >= 2:
            return f"Correct the spelling: replace “{quoted[0]}” with “{quoted[1]}”"
        if quoted:
            return f"Correct the spelling of “{quoted[0]}”"
        where = re.search(r"\b(?:in|on) (.+)$", s, _I)
        return f"Fix the spelling in {_subject(where.group(1))}" if where else \
            "Fix the typo and proofread the surrounding copy"
    if r := m(r"^(.+?) (?:is|are|has|have|looks?) (?:very |really |a bit |quite |so |too )?"
              r"(?:hard to (?:read|see)|difficult to read|illegible|unreadable|faint|too light|"
              r"low contrast|poor contrast|not enough contrast)\b"):
        return (f"Increase the contrast between the text and background of {_subject(r.group(1))} "
                "to at least 4.5:1 (WCAG AA)")
    if re.search(r"\b(?:contrast|hard to read|can't read|cannot read)\b", s, _I):
        return "Increase the text contrast to at least 4.5:1 (WCAG AA)"
    if r := m(r"^(.+?) (?:is|are|seems|looks) (?:completely |totally |still )?"
              r"(?:broken|not working|buggy|dead)\b(.*)$"):
        subj = _subject(r.group(1))
        return f"Fix {subj} so that {_pronoun(subj)} work{'' if _pronoun(subj) == 'they' else 's'} " \
               f"again{r.group(2)}, and verify by repeating the action that failed"
    if r := m(r"^(.+?) (?:doesn't|does not|don't|do not|won't|will not|isn't|aren't|is not|"
              r"are not) (work|load|open|respond|submit|show|appear|display|close|save|update)"
              r"(?:ing)?\b(.*)$"):
        subj, verb = _subject(r.group(1)), r.group(2).lower()
        if verb == "work":
            return f"Fix {subj} so that {_pronoun(subj)} work{'' if _pronoun(subj) == 'they' else 's'}{r.group(3)}"
        return f"Fix {subj} so that {_pronoun(subj)} will {verb}{r.group(3)}"
    if r := m(r"^(.+?) (crash|freez|hang|fail)(?:es|s|ed|e)?\b(.*)$"):
        subj = _subject(r.group(1))
        verb = {"crash": "crashes", "freez": "freezes", "hang": "hangs", "fail": "fails"}[r.group(2).lower()]
        verb = verb[:-2] if verb.endswith("es") and _pronoun(subj) == "they" and verb != "freezes" else verb
        return f"Fix {subj} so that {_pronoun(subj)} no longer {verb}{r.group(3)}"
    if r := m(r"^(?:i |users |you |we |people )?(?:can't|cannot|can not|couldn't|could not|"
              r"am unable to|are unable to|unable to|wasn't able to|was not able to) (.+)$"):
        rest = re.sub(r"\bmy\b", "their", re.sub(r"\bme\b", "them", r.group(1), flags=_I), flags=_I)
        return f"Make sure users can {rest}"
    if r := m(r"^(.+?) (?:overlaps?|is overlapping|are overlapping) (?:with )?(.+)$"):
        return f"Fix the overlap between {_subject(r.group(1))} and {_subject(r.group(2))}"
    if r := m(r"^(.+?) (?:is|are|gets|get) (?:cut off|clipped|truncated|cropped)(.*)$"):
        return f"Make sure {_subject(r.group(1))} is fully visible and not clipped{r.group(2)}"
    if r := m(r"^(.+?) (?:is|are) (?:misaligned|not aligned|off-?cent(?:er|re)|crooked)(.*)$"):
        return f"Align {_subject(r.group(1))} with the surrounding content{r.group(2)}"
    if r := m(r"^(.+?) (?:is|are|feels?|seems?) (?:really |very |so |super |quite |a bit )?"
              r"(?:slow|laggy|sluggish|janky)\b(.*)$"):
        return f"Improve the performance of {_subject(r.group(1))}{r.group(2)}"
    if r := m(r"^(.+?) takes? (?:forever|too long|ages|a long time|\d+ seconds) to (.+)$"):
        return f"Reduce the time it takes {_subject(r.group(1))} to {r.group(2)}"
    if r := m(r"^(.+?) (?:is|are|looks?|seems?|feels?) (?:(?:way|much|a bit|a little|slightly|"
              r"really|very|just|kind of|kinda) )*too (\w+)(?: (?:to|from|with) (.+))?(.*)$"):
        subj, adj = _subject(r.group(1)), r.group(2).lower()
        if adj in _TOO:
            return _adjectives([_TOO[adj]], subj)
        if adj in _TOO_PHRASES:
            return _TOO_PHRASES[adj].format(s=subj, other=_subject(r.group(3) or "the next element"))
    if r := m(r"^make (.+?) (?:say|read) (.+)$"):
        return f"Change the text of {_subject(r.group(1))} to {r.group(2)}"
    if (r := m(r"^make (.+)$")) and (made := _make(r.group(1))):
        return made
    if r := m(r"^(?:change|switch|turn|set) (.+?) (?:to|into) (.+)$"):
        subj, to = _subject(r.group(1)), r.group(2)
        if to.lower() in _COLORS and "colo" not in subj.lower():
            return f"Change the color of {subj} to {to.lower()}"
        return f"Change {subj} to {to}"
    if r := m(r"^use (.+?) instead of (.+)$"):
        return f"Replace {_subject(r.group(2))} with {r.group(1)}"
    if r := m(r"^(?:move|put|place|position) (.+?) (to|above|below|under|underneath|next to|beside|"
              r"before|after|at|on|into|in) (.+)$"):
        prep = _PREPOSITIONS.get(r.group(2).lower(), r.group(2).lower())
        return f"Move {_subject(r.group(1))} {prep} {r.group(3)}"
    if r := m(r"^(.+?) should (?:be|go|sit|appear) (above|below|under|underneath|next to|beside|"
              r"before|after|at the top|at the bottom|on the (?:left|right)|in the \w+)(.*)$"):
        pos = re.sub(r"^(?:at|on) the", "to the", r.group(2), flags=_I)
        return f"Move {_subject(r.group(1))} {pos}{r.group(3)}"
    if r := m(r"^(?:remove|delete|get rid of|drop|lose|take out|take away) (.+)$|"
              r"^(?:we |you )?(?:don't|do not) need (.+)$|"
              r"^(.+?) (?:is|are) (?:unnecessary|not needed|redundant|pointless|useless|distracting)$"):
        return f"Remove {_subject(r.group(1) or r.group(2) or r.group(3))}"
    if r := m(r"^hide (.+)$"):
        return f"Hide {_subject(r.group(1))}"
    if r := m(r"^(?:add|include|insert|put in) (.+)$|^(?:there should be|there needs to be|"
              r"there must be|we need|it needs|this needs|needs|i'd like to see|i would like to see|"
              r"i want to see|would be nice to have|it would be nice to have|would love) (.+)$"):
        return f"Add {r.group(1) or r.group(2)}"
    if r := m(r"^(.+?) (?:is|are) missing(.*)$"):
        return f"Add {_subject(r.group(1))}{r.group(2)}"
    if r := m(r"^(.+?) should (?:say|read) (.+)$"):
        return f"Change the text of {_subject(r.group(1))} to {r.group(2)}"
    if r := m(r"^(.+?) should (?:be|look) (.+)$"):
        subj, want = _subject(r.group(1)), r.group(2)
        adjs = [w for w in want.lower().replace(",", " ").split() if w not in _SOFTENERS]
        if adjs and all(a in _ADJECTIVES for a in adjs) and (done := _adjectives(adjs, subj)):
            return done
        if want[0] in "\"'“‘" or want.split()[0].lower() in _DETERMINERS:
            return f"Change {subj} to {want}"
        return f"Update {subj} so that {_pronoun(subj)} {'are' if _pronoun(subj) == 'they' else 'is'} {want}"
    if r := m(r"^(.+?) should (?:not|never) (.+)$"):
        subj = _subject(r.group(1))
        return f"Make sure {subj} {'do' if _pronoun(subj) == 'they' else 'does'} not {r.group(2)}"
    if r := m(r"^(.+?) should (.+)$"):
        subj = _subject(r.group(1))
        return f"Update {subj} so that {_pronoun(subj)} will {r.group(2)}"
    if r := m(r"^i (?:really )?(?:don't|do not|didn't|did not) (?:really )?(?:like|love) (.+)$|"
              r"^i (?:dislike|hate) (.+)$"):
        return f"Revise {_subject(r.group(1) or r.group(2))} and confirm the new version with the reviewer"
    if r := m(r"^(.+?) (?:looks?|is|are|feels?) (?:a bit |kind of |kinda |really |very |quite )?"
              r"(bad|ugly|weird|off|odd|strange|wrong|cheap|dated|outdated|boring|awkward|"
              r"unprofessional|incorrect)\b(.*)$"):
        subj = _subject(r.group(1))
        if r.group(2).lower() in ("wrong", "incorrect"):
            return f"Correct {subj}{r.group(3)} and confirm the right value with the reviewer"
        return f"Revise {subj}{r.group(3)} and confirm the new version with the reviewer"
    if s.split(" ", 1)[0].lower() in _VERBS:
        return s[0].upper() + s[1:]
    return None


def _clauses(flat: str) -> list[str]:
    """Instruction clauses for up to the first two actionable sentences of a comment."""
    clauses: list[str] = []
    for raw in re.split(r"(?<=[.!?])\s+", flat):
        sentence = raw.strip().rstrip(".!?… ")
        while (stripped := _FILLER.sub("", sentence)) != sentence:
            sentence = stripped
        sentence = re.sub(r",? please$", "", sentence, flags=_I).strip(" ,;:")
        if not sentence:
            continue
        clause = _clause(sentence)
        if clause is None and raw.rstrip().endswith("?"):
            clause = f"Answer the reviewer's question “{sentence}?” and make the change if agreed"
        if clause:
            clauses.append(clause.rstrip(" .!?;,"))
        if len(clauses) == 2:
            break
    return clauses


def rewrite_instruction(content: str, page_path: str) -> str:
    """An imperative, actionable rewrite of a reviewer comment: one or two sentences, never empty."""
    page = page_path.strip() or "/"
    flat = " ".join(content.split())
    comment = quote(flat, 300).strip(" .!?,;:")
    if not comment:
        return f"Review the pinned element on {page}; the reviewer left no comment."
    clauses = _clauses(flat)
    if not clauses:
        return f"Review and address the feedback on {page}: {comment}."
    if page != "/" and page not in clauses[0]:
        # The page belongs to the action, not to a trailing "and confirm ..." tail.
        tail = re.search(r", and | and confirm | and make the change", clauses[0])
        at = tail.start() if tail else len(clauses[0])
        clauses[0] = f"{clauses[0][:at]} on {page}{clauses[0][at:]}"
    return " ".join(c[0].upper() + c[1:] + "." for c in clauses)


# ---- test-session analysis ------------------------------------------------------------------

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


def analyze(brief: TestSessionBrief) -> tuple[str, list[str], list[str], str, float | None]:
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
    if brief.duration_seconds is not None and brief.duration_seconds >= 0:
        minutes = round(brief.duration_seconds / 60, 1)
        if minutes < 2:
            issues.append(f"Session lasted only {minutes:g} minutes; check the tasks were really attempted.")
        elif minutes > 60:
            issues.append(f"Session ran long ({minutes:g} minutes), so tasks took longer than planned.")
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
    took = f"took {minutes:g} minutes" if minutes is not None else "has no recorded duration"
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


class OfflineEngine:
    """Rule-based engine that needs nothing but the input it is given."""

    name = "offline"

    def persona_review(self, persona: PersonaBrief, annotation: AnnotationBrief) -> EngineResult:
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
            text = (f"{head} — {outside} ({focus}), so briefly: the {kind} note{where} reads "
                    f"“{body}”{end} {aside}\n\n{severity}")
            return EngineResult(text=text, engine=self.name)
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
        text = " ".join(lines) + f"\n\n**{recommend}** {advice[0].upper()}{advice[1:]}.\n\n{severity}"
        return EngineResult(text=text, engine=self.name)

    def task_instruction(self, content: str, page_path: str) -> EngineResult:
        return EngineResult(text=rewrite_instruction(content, page_path), engine=self.name)

    def analyze_test_session(self, brief: TestSessionBrief) -> AnalysisResult:
        summary, highlights, issues, sentiment, minutes = analyze(brief)
        return AnalysisResult(summary=summary, highlights=highlights, issues=issues,
                              sentiment=sentiment, completion_minutes=minutes, engine=self.name)
