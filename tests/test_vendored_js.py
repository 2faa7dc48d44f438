"""Browser libraries from npm are committed, pinned, and unchanged since pinned.

The front ends need no build step on a fresh machine, so a library's distribution
file is copied from its npm package into ``frontend/<app>/static/<app>/vendor/`` and
listed in ``frontend/<app>/vendor.json``: package, exact version, the file inside the
npm tarball it came from, where it lives here, its SHA-256 and its licence. To update:
``npm pack <package>@<version>``, copy the file, update the entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
MANIFESTS = sorted(FRONTEND.glob("*/vendor.json"))
ENTRIES = [
    pytest.param(manifest, entry, id=f"{manifest.parent.name}:{entry['package']}")
    for manifest in MANIFESTS
    for entry in json.loads(manifest.read_text())
]


@pytest.mark.parametrize(("manifest", "entry"), ENTRIES)
def test_vendored_file_is_the_pinned_release(manifest: Path, entry: dict[str, str]) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), "pin an exact release"
    assert entry["license"], "record the licence"
    path = manifest.parent / entry["path"]
    assert path.is_file(), path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], (
        f"{path} differs from {entry['package']}@{entry['version']} {entry['source']}"
    )
