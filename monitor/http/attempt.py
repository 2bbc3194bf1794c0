"""One attempt of a check: one redirect chain, hop by hop, within one timeout budget.

What the attempt produced (`Attempt`), what a hop that is not a redirect
leaves the chain to do (`Then`) and when two hops ask for the same thing
(`request_key`, for loop detection). The loop itself is the engine's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from monitor.classify import ErrorKind
from monitor.http.giving_up import Refusal
from monitor.http.target_url import Target
from monitor.vocabulary import ContentFacts, Redirect


class Then(enum.Enum):
    """What a hop that is not a redirect leaves the chain to do (said outright:
    never read from which URL object came back, as yarl caches and reuses them)."""

    DONE = "done"  # the answer (or the failure) is recorded in the attempt
    UNRANGED = "unranged"  # 416 to a ranged request: ask the same URL once more, whole


def request_key(url: Target) -> tuple[str, str | None, int | None, str]:
    """What a request to `url` asks for: two URLs with one key are the same request
    (the fragment is never sent; a default port is the same port), so a chain
    that comes back to a key is a loop."""
    return url.scheme, url.raw_host, url.port, url.raw_path_qs


@dataclass(slots=True)
class Attempt:
    """What one attempt (one redirect chain) produced."""

    status: int | None = None
    error: ErrorKind | None = None
    error_text: str | None = None
    final_url: str | None = None
    final: Target | None = None  # the URL `final_url` shows, as requested (for the probe)
    redirects: list[Redirect] = field(default_factory=list)
    permanent: bool = False
    facts: ContentFacts = field(default_factory=ContentFacts)
    cert_not_after: datetime | None = None
    wire_s: float = 0.0
    resends: int = 0  # requests sent again after a kept-alive connection closed
    # the answer's body could not be decoded: said in the result's error, and
    # nothing is learnt from it (no finding is judged on such bytes)
    body_error: str | None = None
    # not sent: `check` gave up on the host it was for (giving_up.py)
    held_back: Refusal | None = None
    # a hop of this chain went over HTTPS: a later plain-HTTP hop gets no
    # `request_headers` values (a redirect down to http:// would send them in clear)
    tls_seen: bool = False

    def fail(self, kind: ErrorKind, text: str) -> Attempt:
        self.error, self.error_text = kind, text
        return self
