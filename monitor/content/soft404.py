"""Pure: whether a page's title or first heading says it is not found (soft 404).

Deliberately conservative: the title, split at site-name separators (" | ",
" - ", " – ", " — ", " · ", " :: ", " » "), must have a part that is
*entirely* a not-found phrase ("Page not found", "404", "Error 404", "404 Not
Found", "This page doesn't exist", "Content no longer available", and the
same in German, French, Spanish, Italian, Portuguese, Dutch and Polish); or
the first <h1> must be entirely such a phrase. A headline that merely
contains "404" or "no longer available" ("Apple Music no longer available in
Russia", "The 404 page is dead") is not a soft 404.
"""

from __future__ import annotations

import re
from functools import cache

_P404 = r"(?:(?:http|error) )?404(?: error)?"
_SUBJECT = (
    r"(?:(?:the|this|that) )?(?:requested )?"
    r"(?:page|file|article|content|story|resource|document|url|post)"
)
_NOT_FOUND = r"(?:(?:was|is|could not be|cannot be|can't be|can not be) )?not found"
_GONE = (
    r"(?:(?:you are|you're|you were) looking for )?"
    r"(?:does not exist|doesn't exist|no longer exists|is no longer available"
    r"|isn't available|is not available|is unavailable|could not be found|cannot be found"
    r"|can't be found|was not found|has been removed|has been deleted)"
)
_ENGLISH = (
    rf"{_P404}"
    rf"|(?:{_P404} )?(?:(?:oops|sorry|error) )?(?:{_SUBJECT} )?{_NOT_FOUND}"
    rf"|(?:{_P404} )?(?:(?:oops|sorry|error) )?{_SUBJECT} {_GONE}"
    rf"|(?:(?:oops|sorry) )?(?:{_SUBJECT} )?(?:is )?no longer available"
    r"|(?:(?:oops|sorry) )?we (?:couldn't|could not|can't|cannot) find (?:that|this|the) page"
    r"|nothing found"
)
_OTHER_LANGUAGES = (
    r"(?:fehler|erreur|error|errore|erro|fout|błąd) 404"
    r"|(?:die )?seite (?:wurde )?nicht gefunden|nicht gefunden"  # de
    r"|(?:la )?page (?:non trouvée|introuvable)|la page (?:demandée )?n'existe pas"  # fr
    r"|(?:la )?página no encontrada|no se encontró la página|la página no existe"  # es
    r"|(?:la )?pagina non trovata|la pagina non esiste"  # it
    r"|(?:a )?página não encontrada|a página não existe"  # pt
    r"|(?:de )?pagina niet gevonden|deze pagina bestaat niet"  # nl
    r"|nie znaleziono strony|strona nie została znaleziona|nie znaleziono"  # pl
)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The phrases, the site-name separators and the punctuation: compiled at the
    first title that holds a keyword (_KEYWORDS), not at import; every process
    imports this module and the phrases alone cost ~15 M instructions (issue 16)."""
    return (
        re.compile(rf"(?:{_ENGLISH}|{_OTHER_LANGUAGES})"),
        re.compile(r"\s+(?:\||-|–|—|·|::|»|«|/)\s+"),
        re.compile(r"[\s.,:;!?¡¿…\"«»()\[\]*~_-]+"),
    )


# Every phrase above holds one of these words: most titles hold none, and are
# answered without the splitting and the long pattern.
_KEYWORDS = re.compile(
    r"404|found|exist|esiste|availab|find|gefunden|trouv|encontr|trovat|gevonden|bestaat"
    r"|znalezion|removed|deleted"
)


# A not-found page says so in a few words: a longer title or heading is not one
# (a closed <title> is judged whole, and one of 512 KiB with 40,000 separators
# cost 40,000 matches, 100 ms of CPU).
SOFT_404_MAX = 1000


def is_soft_404_text(text: str | None) -> bool:
    """Whether a title or heading is, in one of its parts, only a not-found phrase."""
    if not text or len(text) > SOFT_404_MAX:
        return False
    lowered = text.lower()
    return _KEYWORDS.search(lowered) is not None and has_404_part(lowered)


def has_404_part(lowered: str) -> bool:
    soft_404, separators, punctuation = _patterns()
    normal = " ".join(lowered.replace("’", "'").split())
    for part in separators.split(normal):
        words = punctuation.sub(" ", part).strip()
        if words and soft_404.fullmatch(words):
            return True
    return False
