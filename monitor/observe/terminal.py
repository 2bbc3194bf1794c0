"""Text bound for a terminal: control characters spelled out, rich markup inert.

Report cells hold what servers and corpus files said (URLs, titles, error
messages, file names). Printed raw, an ANSI escape repaints the terminal and
a `[/x]` in a URL is rich markup that raises; both are shown as text instead.
"""

from __future__ import annotations

from rich.markup import escape as escape_markup
from rich.text import Text

from monitor.observe.logs import escape


def plain(text: str, style: str = "") -> Text:
    """A rich cell that renders `text` literally (no markup), controls escaped."""
    return Text(escape(text), style=style)


def markup_safe(text: str) -> str:
    """`text` for a rich markup string: controls escaped and brackets inert."""
    return escape_markup(escape(text))
