"""Static files for production: hashed names, compressed copies, cached for a year.

``collectstatic`` (a release step, deploy/) writes every file under its content's hash
(``app.3f2a9c1b7d4e.js``) beside a gzip copy (and a Brotli one where the ``brotli``
package is installed); WhiteNoise serves the copy the browser accepts and marks hashed
names ``immutable`` for ten years, so a phone downloads a script once per release.

ES modules import each other (``import … from "./app.js"``): Django rewrites those
imports to the hashed names too when told to, or a cached module would load a stale
neighbour after a release. Decision 0236.
"""

from __future__ import annotations

from collections.abc import Callable
from re import Match
from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, with module imports rewritten.

    Vendored files (``*/vendor/*``, pinned by tests/test_vendored_js.py) are served as
    they came: their ``sourceMappingURL`` names a map we do not ship, and rewriting
    would fail the release on it.
    """

    support_js_module_import_aggregation = True

    def url(self, name: str | None, force: bool = False) -> str:
        # Django names the unhashed file when DEBUG is on; this storage is chosen
        # on purpose (STATIC_HASHED), so pages name the hashed file whatever DEBUG says
        # (the demo runs with DEBUG on and production's static files).
        if name is None:
            raise ValueError("a static file is named")
        return super().url(name, force=True)

    def url_converter(
        self,
        name: str,
        hashed_files: dict[str, Any],
        template: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Callable[[Match[str]], str]:
        if "/vendor/" in name:
            return lambda match: match["matched"]
        return super().url_converter(name, hashed_files, template, *args, **kwargs)
