"""Values from results and repositories made safe inside markdown (pull-request comments,
``$GITHUB_STEP_SUMMARY``): GitHub renders HTML inside markdown, so ``<``, ``>`` and ``&``
become entities; ``|`` (it would split a table cell), backticks, ``*``, brackets and
backslashes get a backslash; newlines fold into spaces.
"""

from __future__ import annotations

import re

_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_escape(text: object) -> str:
    """One table cell or inline value: no HTML, no cell break, no code span, one line."""
    s = str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    s = s.replace("*", "\\*").replace("[", "\\[").replace("]", "\\]")
    s = _EDGE_UNDERSCORE.sub(r"\\_", s)  # intraword _ (gateway_lookup) never emphasizes
    return " ".join(s.split())
