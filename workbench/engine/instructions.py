"""Task instructions: a reviewer's free-text comment rewritten as one or two imperative sentences."""

from __future__ import annotations

import re

from workbench.engine.text import quote

__all__ = ["instruction_clauses", "rewrite_instruction"]

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
    plural = (last.endswith("s") and not last.endswith(("ss", "us"))) or subject == "these elements"
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


def instruction_clauses(flat: str) -> list[str]:
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
    clauses = instruction_clauses(flat)
    if not clauses:
        return f"Review and address the feedback on {page}: {comment}."
    if page != "/" and page not in clauses[0]:
        # The page belongs to the action, not to a trailing "and confirm ..." tail.
        tail = re.search(r", and | and confirm | and make the change", clauses[0])
        at = tail.start() if tail else len(clauses[0])
        clauses[0] = f"{clauses[0][:at]} on {page}{clauses[0][at:]}"
    return " ".join(c[0].upper() + c[1:] + "." for c in clauses)
