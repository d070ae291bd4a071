"""The repository's own ``config.yaml``, pointed at the local look-alike sites.

``.ci/run`` runs the README's main command against it, so the real configuration (its feeds,
listings, crawl selectors and rules) is what is exercised, only on loopback and without the
politeness delays a real site deserves. Standard library only: it is served before anything is
installed.
"""

from __future__ import annotations

from pathlib import Path

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
REAL_SITES = {"news": "https://countercurrents.org", "blog": "https://peterkropotkin.org"}
# Loopback sites may be fetched from private addresses, and need no politeness delays.
LOCAL_SETTINGS = """
network:
  allow_private: true

crawling:
  download_delay: 0
  autothrottle: false
  retries: 1
  retry_backoff: 0.05
"""


def local_config(bases: dict[str, str], folder: Path, repo_config: Path = REPO_CONFIG) -> Path:
    """Write ``folder/config.yaml``: the repository's config with each real site's address
    replaced by the local one in ``bases`` (keys of ``REAL_SITES``). Its relative paths (the
    database, the output) then fall in ``folder``. Returns the file's path."""
    text = repo_config.read_text(encoding="utf-8")
    for name, real in REAL_SITES.items():
        text = text.replace(real, bases[name].rstrip("/"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    partial = path.with_suffix(".partial")  # renamed into place: a reader never sees half a file
    partial.write_text(text.rstrip() + "\n" + LOCAL_SETTINGS, encoding="utf-8")
    partial.replace(path)
    return path
