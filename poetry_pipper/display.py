"""Text that reaches a terminal: control characters made visible, cleo markup neutralized.

Anything printed may hold a string from the bucket (a display name, a yank reason, a summary, a
file name), from a file given with ``-i``, or from the command line. Two things must never get
through:

* control characters -- terminal escape sequences (ESC), carriage returns and newlines that forge
  lines, NUL, C1 controls, and the Unicode format characters that reorder or hide text (bidi
  overrides, zero-width characters): :func:`printable` shows each as ``\\xNN`` or ``\\uNNNN``;
* cleo markup -- ``<fg=bogus>`` makes cleo raise, ``</info>`` closes a style that is not open,
  ``<error>`` restyles: :func:`escape_markup` makes every ``<`` literal.

:func:`safe` does both to one value. :func:`sanitize_line` is what every command's output goes
through (``PipperCommand.line`` and the error path): it keeps only pipper's own tags
(:data:`TAGS`) and only when they nest properly, so a command that forgets :func:`safe` still
prints the text literally at worst styled oddly, never crashes, never moves the cursor.

This module imports nothing of pipper's and nothing of cleo's: the core may use it too.
"""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, and the format characters that change how text around them looks:
#: soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi marks,
#: line/paragraph separators, bidi embeddings/overrides/isolates, invisible operators, BOM,
#: interlinear annotations.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
#: The only tags pipper's own lines use.
TAGS = ("info", "comment", "error")
_TAG = re.compile(r"(?<!\\)<(/?)(" + "|".join(TAGS) + r")>")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control and format character shown as an escape (``\\x1b``, ``\\u202e``)."""
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_visible, part) for part in text.split("\n"))
    return _CONTROL.sub(_visible, text)


def escape_markup(text: str) -> str:
    """Every ``<`` literal for cleo (``\\<``); a trailing backslash cannot escape a tag that follows."""
    text = text.replace("<", "\\<")
    return text + " " if text.endswith("\\") else text


def safe(text: object) -> str:
    """One value (from the bucket, a file, the command line) ready to be put into a line of output."""
    return escape_markup(printable(str(text)))


def sanitize_line(text: str, *, keep_newlines: bool = False) -> str:
    """A whole line of output: control characters shown, every ``<`` escaped but pipper's own tags.

    A ``<`` already escaped (``\\<``) stays so. Pipper's tags (:data:`TAGS`) stay markup only when
    they nest properly; otherwise they are shown as text too, so cleo never fails on the line.
    """
    text = printable(text, keep_newlines=keep_newlines)
    out: list[str] = []
    stack: list[str] = []
    balanced = True
    position = 0
    for index in _all(text, "<"):
        out.append(text[position:index])
        position = index
        if index and text[index - 1] == "\\":
            continue
        tag = _TAG.match(text, index)
        if tag is None:
            out.append("\\")
            continue
        closing, name = tag.group(1), tag.group(2)
        if not closing:
            stack.append(name)
        elif stack and stack[-1] == name:
            stack.pop()
        else:
            balanced = False
    out.append(text[position:])
    line = "".join(out)
    if balanced:
        return line
    return _TAG.sub(lambda m: "\\" + m.group(), line)


def _all(text: str, char: str) -> list[int]:
    found, start = [], text.find(char)
    while start != -1:
        found.append(start)
        start = text.find(char, start + 1)
    return found
