"""A secret written where the name of the file or variable holding it was expected.

`--header-file 'h=Authorization:Bearer eyJ…'` (the value for its path),
`metrics_basic_auth_file = "user:password"`, a key in `key_file`: the name
is then the secret, and "value_file Bearer eyJ… not found", or `config
show`'s JSON, printed it (to a terminal, a CI log, a journal). Such a name is
never echoed: `shown_name` says what it looks like instead. Key material has
its own test (monitor.secured.key_text.looks_like_key), asked here too.

Pure; monitor.secured.key_text (which imports monitor.config) is imported
when first asked, so that monitor.config may use this module.
"""

from __future__ import annotations

import os
import re
from typing import Final

NOT_SHOWN: Final = "(not shown: it looks like the secret itself, not the name of what holds it)"

# an Authorization value: a scheme, then its credentials
_SCHEME: Final = re.compile(r"(?i)\s*(bearer|basic|token|digest|apikey|api-key)\s+\S")
# a JSON Web Token's header and payload (base64url of `{"`)
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]")


def looks_secret(text: str, *, pair: bool = False) -> bool:
    """Whether `text`, given as a file or variable name, looks like the secret
    itself: key material, an Authorization value, a JSON Web Token, or (`pair`:
    the setting names a `user:password` file) a `user:password` pair. A file
    that exists by that name is a file, whatever its name looks like."""
    from monitor.secured.key_text import looks_like_key

    if not text or os.path.lexists(text):
        return False
    # the config loader puts the file's folder before a relative name
    name = os.path.basename(text) or text
    if any(_SCHEME.match(part) for part in (text, name)) or _JWT.search(text):
        return True
    return looks_like_key(text) or (pair and ":" in name)


def shown_name(text: object, *, pair: bool = False) -> str:
    """`text` as an error or `config show` may print it: itself, or NOT_SHOWN."""
    return NOT_SHOWN if looks_secret(str(text), pair=pair) else str(text)
