"""The worker knows every campaigns task by the name it is sent under.

The task modules live next to their domain (``campaigns/scan/tasks.py``,
``campaigns/questionnaires/tasks.py``, ``campaigns/exports/tasks.py``) and
``config/celery.py`` names their packages. A web process imports a task module
only when it sends that task, so the check runs in a fresh process that does what a
worker does when it starts, without Django's system checks (``CELERY_SKIP_CHECKS``:
they load the URLconf, which imports nearly everything): nothing but the wiring can
have registered the tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# The names queued messages and the beat schedule carry: they never change.
CAMPAIGNS_TASKS = {
    "campaigns.tasks.generate_codes",
    "campaigns.tasks.resume_stalled_batches",
    "campaigns.export_tasks.render_export",
    "campaigns.questionnaire_exports.render_responses",
    "campaigns.tasks.rotate_prize_seeds",
}
WORKER_START = (
    "import json, django; django.setup(); from config.celery import app; "
    "app.loader.import_default_modules(); print(json.dumps(sorted(app.tasks)))"
)


def test_a_starting_worker_registers_every_campaigns_task_and_every_beat_task() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WORKER_START],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "CELERY_SKIP_CHECKS": "1",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    registered = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert registered >= CAMPAIGNS_TASKS
    assert registered >= {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
