"""The Celery task that renders a questionnaire's responses export (see ``exports``).

It runs in the merchant's schema: ``services.request_export`` sends it with the
``_schema_name`` header (tenant-schemas-celery). Its ``name=`` is what queued messages
know it by: the name of the module it once lived in (``campaigns.questionnaire_exports``).
"""

from __future__ import annotations

from celery import shared_task

from campaigns.questionnaires.exports import render


@shared_task(
    name="campaigns.questionnaire_exports.render_responses",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def render_responses(campaign_id: int, fmt: str, name: str) -> str:
    return render(campaign_id, fmt, name)
