"""Text bound for a terminal: a character that could drive it (ESC, BEL, a C1 control, a
bidirectional override) is shown as an escape instead, so that a student's file cannot clear a
TA's screen, set its title or reorder what it shows. Newlines and tabs stay in multi-line text."""

from __future__ import annotations

import unicodedata

BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def safe(text: str, keep_lines: bool = False) -> str:
    out = []
    for ch in text:
        if keep_lines and ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) == "Cc" or ch in BIDI:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)
