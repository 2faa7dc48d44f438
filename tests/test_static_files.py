"""Static files as production serves them (decision 0236): hashed names, gzip copies,
a year's caching, and ES module imports that name the hashed neighbours.

Collected in-process into a temporary STATIC_ROOT with the production storage, then
asked for through the middleware (WhiteNoise) as a phone's browser asks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

HASHED = re.compile(r"\.[0-9a-f]{12}\.(js|css)$")
IMPORT = re.compile(r"""(?:import|export)[^;]*?\bfrom\s*["']([^"']+)["']\s*;""", re.S)


def _production_static(root: Path) -> override_settings:
    return override_settings(
        STATIC_HASHED=True,
        STATIC_ROOT=root,
        WHITENOISE_USE_FINDERS=False,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "core.staticfiles.HashedStaticFilesStorage"},
        },
    )


@pytest.mark.django_db
def test_collected_files_are_hashed_compressed_and_cached_for_a_year(tmp_path: Path) -> None:
    """Fails if a module imports a neighbour by its unhashed name (a cached module would
    load a stale neighbour after a release: turn ``support_js_module_import_aggregation``
    off in core/staticfiles.py to see it), if a page names an unhashed script, or if
    the hashed file is served without gzip or without the long cache."""
    with _production_static(tmp_path):
        call_command("collectstatic", interactive=False, verbosity=0)
        paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]

        ours = [n for n in paths if n.endswith(".js") and "/vendor/" not in n]
        assert "consumer/scan.js" in ours and "console/console.js" in ours
        imports = 0
        for name in ours:
            text = (tmp_path / paths[name]).read_text()
            for target in IMPORT.findall(text):
                imports += 1
                assert HASHED.search(target), f"{name} imports {target} by its plain name"
                resolved = (
                    tmp_path / target.removeprefix("/static/")
                    if target.startswith("/")
                    else (tmp_path / paths[name]).parent / target
                )
                assert resolved.resolve().exists(), f"{name} imports a missing {target}"
        assert imports > 20  # the consumer web's and the console's modules

        page = Client().get("/scan").content.decode()
        script = re.search(r'src="(/static/consumer/camera\.[0-9a-f]{12}\.js)"', page)
        assert script, page
        assert re.search(r'href="/static/frontend/base\.[0-9a-f]{12}\.css"', page)
        answer = Client().get(script[1], HTTP_ACCEPT_ENCODING="gzip, deflate")
        assert answer.status_code == 200
        assert answer["Content-Encoding"] == "gzip"
        assert "max-age=315360000" in answer["Cache-Control"]
        assert "immutable" in answer["Cache-Control"]
