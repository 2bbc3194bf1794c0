"""article-monitor: data-integrity and link-health monitor for news-article records."""

import os

# The one place the version is written (pyproject.toml reads it from here):
# asking importlib.metadata instead cost every process ~50 ms of start-up,
# twice per `check` run (the parent and its worker).
__version__ = "0.1.0"

# Pydantic looks for plugins at the first model it builds by reading the entry
# points of every installed distribution: 25 M instructions of each process's
# start (1.5% of a `check --offline` of 1,000 records, callgrind; more with more
# packages installed), for plugins this application never asked for. Set before
# any model is built, and inherited by the checker processes; a user who wants
# them sets the variable (to an empty value, or to the plugins to leave out) and
# that is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

__all__ = ["__version__"]
