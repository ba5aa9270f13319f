"""Word and style helpers shared by the offline engine's reviews and instructions.

Stemmed tokens and phrase matching, one-line quotes, and what computed CSS says about
font size and text/background contrast.
"""

from __future__ import annotations

import re

__all__ = ["contrast_finding", "font_size_px", "phrase_in", "quote", "tokens"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    # Just enough folding that "crashes", "crashed" and "crashing" meet "crash".
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif (len(word) > 4 and word.endswith("ed")) or (len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes"))):
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
