"""article-monitor: data-integrity and link-health monitor for news-article records."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("article-monitor")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
