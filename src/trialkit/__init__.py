"""trialkit: run early-phase clinical trials from the registry record to the final report."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trialkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
