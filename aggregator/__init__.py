"""mutualaid: collect writing on mutual aid, keep only the article, republish one clean feed."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mutualaid")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
