"""deploy/Procfile read as data: the one place that says how each process is started.

A Procfile runner (Heroku, Dokku, foreman, honcho, overmind) runs each line through a
shell; so do ``command()`` and its users, the topology's hosts (``deploy.topology``) and
the test that starts the processes (``tests/test_deploy.py``). A change to a line is
therefore what every host and test runs: nothing else spells these commands out.
"""

from __future__ import annotations

import shlex
from pathlib import Path

PROCFILE = Path(__file__).resolve().with_name("Procfile")


def processes(path: Path = PROCFILE) -> dict[str, str]:
    """Each process's name and its command line, in the file's order."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _colon, command = line.partition(":")
        found[name.strip()] = command.strip()
    return found


def command(name: str, *extra: str, path: Path = PROCFILE) -> list[str]:
    """The arguments that run process ``name`` as a Procfile runner does (a shell expands
    ``${PORT:-8000}``), ``extra`` arguments appended (a host's own, e.g. a Celery
    worker's ``--hostname``). A single command is ``exec``'d, so that signals reach the
    process itself, not the shell; a list of them (the release's ``a && b``) is not."""
    line = " ".join([processes(path)[name], *map(shlex.quote, extra)])
    single = not any(operator in line for operator in ("&&", "||", ";", "|"))
    return ["bash", "-c", f"exec {line}" if single else line]
