"""article-monitor: data-integrity and link-health monitor for news-article records."""

# The one place the version is written (pyproject.toml reads it from here):
# asking importlib.metadata instead cost every process ~50 ms of start-up,
# twice per `check` run (the parent and its worker).
__version__ = "0.1.0"

__all__ = ["__version__"]
