"""Follow campaigns: points for following the merchant's WeChat official account.

Tables in each merchant's schema. A follower is known by their OpenID under the
merchant's app (WeChat's ``FromUserName``); a ``Follow`` row exists at most once per
campaign and OpenID, which is what makes a follow pay once, ever (decision 0191).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class FollowCampaign(models.Model):
    """The follow side of a ``Campaign`` of kind follow, funded as a questionnaire is."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="follow"
    )
    points_per_follow = models.PositiveIntegerField()
    # How many follows are rewarded; reserved as cap x points when activated.
    max_rewarded_follows = models.PositiveIntegerField()
    reserved = models.BooleanField(default=False)
    released_points = models.BigIntegerField(default=0)
    # Set when the last rewarded follow used up the reserve (the campaign closed itself).
    exhausted_at = models.DateTimeField(null=True, blank=True)
    # The print poster's permanent code (QR_LIMIT_STR_SCENE), made once when asked for:
    # WeChat limits an account to 100,000 of them.
    poster_ticket = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(points_per_follow__gte=1), name="follow_points_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(max_rewarded_follows__gte=1), name="follow_cap_pos"
            ),
        ]

    def __str__(self) -> str:
        return f"follow side of campaign {self.campaign_id}"

    def reserve_ref(self, bucket: int) -> str:
        return f"follow:{self.pk}:{bucket}"


class FollowCode(models.Model):
    """A temporary QR code (QR_STR_SCENE) made for one consumer and one campaign."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="follow_codes", db_index=False
    )
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+"
    )
    # WeChat's EventKey comes back as ``qrscene_<scene>``: at most 64 characters.
    scene = models.CharField(max_length=64, unique=True)
    ticket = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["campaign", "consumer", "expires_at"], name="follow_code_reuse"),
        ]

    def __str__(self) -> str:
        return self.scene


class FollowSource(models.TextChoices):
    CODE = "code", "Consumer's code"
    POSTER = "poster", "Poster"


class Follow(models.Model):
    """A new follower from one of the campaign's codes: once per campaign and OpenID, ever.

    ``consumer`` is empty while the follower is not yet tied to an account (a poster
    scan by someone never seen: the passive reply's link ties them and pays then).
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="follows", db_index=False
    )
    openid = models.CharField(max_length=64)
    source = models.CharField(max_length=8, choices=FollowSource.choices)
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    followed_at = models.DateTimeField(default=timezone.now)
    # The first unfollow after the follow (stats: "unfollowed after"); a refollow keeps it.
    unfollowed_at = models.DateTimeField(null=True, blank=True)
    points = models.PositiveIntegerField(default=0)
    transaction = models.ForeignKey(
        "points.Transaction", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["campaign", "openid"], name="follow_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["campaign", "followed_at"], name="follow_campaign_time"),
        ]

    def __str__(self) -> str:
        return f"{self.openid} followed for campaign {self.campaign_id}"
