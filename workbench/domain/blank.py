"""Blank text: what shows nothing, the one meaning of "cannot be blank" and "blank counts as none".

A summary or an explanation says something only if a reader can see some of it. ``str.strip``
leaves a zero-width space, a BEL or a lone variation selector: each passes as "not blank" yet
every front end shows nothing (the CLI and TUI even show the BEL as ``\\x07``, which says nothing
either). Blank is decided here, once, for the resolve summary (CLI, TUI, MCP), the PATCH
summary and a resolution's explanation (stored as null when blank), and the TUI's and bulk
checks. Pure and import-light: the TUI's first paint may import it.
"""

from __future__ import annotations

import re
import unicodedata

# Categories that draw nothing: controls (Cc), format characters (Cf: zero-width space and
# joiners, bidi marks, the BOM, soft hyphen), surrogates (Cs), and the separators (Zs, with
# NBSP and the ideographic space, Zl, Zp).
_SHOWS_NOTHING = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})

# Unicode's Default_Ignorable_Code_Point characters outside those categories (DerivedCoreProperties):
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation
# selectors, and reserved ignorables; plus U+2800, the braille pattern blank (braille's space).
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u2800\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff]"
)


def shows_nothing(char: str) -> bool:
    """Whether the one character ``char`` draws nothing a reader can see."""
    return unicodedata.category(char) in _SHOWS_NOTHING or _IGNORABLE.match(char) is not None


def is_blank(text: str) -> bool:
    """Whether ``text`` says nothing: empty, or only whitespace, control, format and other invisible characters.

    Only the verdict: text that says something is kept as written, control characters included;
    every output to a terminal already shows those as escapes (``safe_text.terminal_safe``).
    """
    return all(shows_nothing(char) for char in text)
