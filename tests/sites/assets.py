"""Stand-ins for theme files and uploads, so a crawler that follows ``<img>`` or ``<link>``
tags gets something small instead of a themed 404."""

from __future__ import annotations

import base64

from tests.sites.server import Response

# A 1×1 transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_TYPES = {
    ".css": ("text/css; charset=UTF-8", b"/* theme styles */\nbody{margin:0}\n"),
    ".js": ("application/javascript; charset=UTF-8", b"/* theme script */\n"),
}


def is_asset(path: str) -> bool:
    return path.startswith(("/wp-content/", "/wp-includes/"))


def asset(path: str) -> Response:
    """Tiny CSS or JS for theme files, a pixel for everything else (uploads)."""
    for suffix, (content_type, body) in _TYPES.items():
        if path.endswith(suffix):
            return Response(body=body, content_type=content_type)
    return Response(body=PIXEL, content_type="image/gif")
