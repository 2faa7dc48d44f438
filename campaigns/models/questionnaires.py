"""Questionnaires: the questionnaire side of a campaign, its versioned question sets, the
responses and who opened it. Tables in each merchant's schema."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Questionnaire(models.Model):
    """The questionnaire side of a ``Campaign`` of kind questionnaire."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="questionnaire"
    )
    points_per_response = models.PositiveIntegerField()
    # How many responses are rewarded; reserved as cap x points when activated.
    max_rewarded_responses = models.PositiveIntegerField()
    current_version = models.ForeignKey(
        "QuestionnaireVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reserved = models.BooleanField(default=False)
    released_points = models.BigIntegerField(default=0)
    # Set when the last rewarded response used up the reserve (the campaign closed itself).
    exhausted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(points_per_response__gte=1), name="questionnaire_points_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(max_rewarded_responses__gte=1), name="questionnaire_cap_pos"
            ),
        ]

    def __str__(self) -> str:
        return f"questionnaire of campaign {self.campaign_id}"

    def reserve_ref(self, bucket: int) -> str:
        return f"survey:{self.pk}:{bucket}"

    def prize_reserve_ref(self, bucket: int) -> str:
        """With a prize table (decision 0283): one account, whatever the bucket (the draws
        already take turns on the draw log's head), and a name the fixed-points submit
        never looks up, so a submit without the page's nonce cannot spend it."""
        return f"survey-prize:{self.pk}"

    def live_version(self) -> QuestionnaireVersion:
        """The current version, for code that reads a saved questionnaire.
        ``current_version`` is nullable only because the questionnaire row is inserted
        before its first version (services.create_questionnaire sets it in the same
        transaction): no committed questionnaire is without one."""
        assert self.current_version is not None, "a questionnaire gets its version on creation"
        return self.current_version


class QuestionnaireVersion(models.Model):
    """An immutable set of questions. Edits after the first response make a new version."""

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    # Validated by campaigns.questionnaires.questions.validate_definition: a list of question dicts.
    questions = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["questionnaire", "number"], name="questionnaire_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number} of questionnaire {self.questionnaire_id}"


class Response(models.Model):
    """A consumer's answers. One per consumer and campaign, enforced by the database."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="responses"
    )
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+"
    )
    answers = models.JSONField()
    points = models.PositiveIntegerField()
    # Null only for a prize questionnaire's "thank you" draw, which moves no point
    # (as a prize claim's, decision 0216).
    transaction = models.ForeignKey(
        "points.Transaction", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["campaign", "consumer"], name="response_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["campaign", "submitted_at"], name="response_campaign_time"),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} to campaign {self.campaign_id}"


class QuestionnaireOpen(models.Model):
    """A consumer opened the questionnaire (for the completion rate)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="opens", db_index=False
    )
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["campaign", "consumer"], name="questionnaire_open_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer_id} opened {self.campaign_id}"
