"""Is this text a path someone meant? One rule for every path setting.

A path holding a line break or another control character is a paste error
(two lines of a terminal, a value with its `\\r\\n`), not a file anyone
named so: taken, it broke the logs' one-line records and the unit files it
was written into, and it was reported far from the setting as "no database
at …". Every path setting (the config file, the environment, the command
line) asks `problem`; the message never echoes the text, which may be a key
pasted in place of its file's name.

Pure and dependency-free: the command line's path type imports it at start-up.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the two Unicode line and paragraph separators
_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL"}


def problem(text: str) -> str | None:
    """Why `text` is not a path anyone meant, or None when it may be one."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    char = found.group()
    what = _NAMES.get(char, "a control character")
    return (
        f"holds {what} ({ascii(char)[1:-1]}) at character {found.start() + 1}, which no path"
        " holds (a paste error?): give the path on one line, without control characters"
    )
