"""The consumer's personal data as the account screen shows it: consents to share with
merchants, the latest data copy, a pending deletion."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoObjectType

from accounts.models import User
from api.permissions import require_consumer
from api.types import DownloadLink, PublicNode
from privacy import erasure, services
from privacy.copies import LINK
from privacy.models import DataCopy, ErasureRequest, MerchantConsent


class MerchantConsentNode(PublicNode, DjangoObjectType):
    """The signed-in consumer's live consent to share their data with one merchant."""

    merchant_name = graphene.String(required=True)

    class Meta:
        name = "MerchantConsent"
        model = MerchantConsent
        interfaces = (graphene.relay.Node,)
        fields = ("id", "version", "given_at")

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[MerchantConsent], info: graphene.ResolveInfo
    ) -> QuerySet:
        return queryset.filter(user=require_consumer(info), withdrawn_at__isnull=True)

    @staticmethod
    def resolve_merchant_name(consent: MerchantConsent, info: graphene.ResolveInfo) -> Any:
        return consent.merchant.name


class DataCopyStatusEnum(graphene.Enum):
    PENDING = "pending"
    READY = "ready"
    EXPIRED = "expired"


class DataCopyType(graphene.ObjectType):
    """The consumer's latest copy of their data."""

    class Meta:
        name = "DataCopy"

    status = graphene.Field(DataCopyStatusEnum, required=True)
    requested_at = graphene.DateTime(required=True)
    download = graphene.Field(
        DownloadLink, description="Set when ready: a link that works for ten minutes."
    )

    @staticmethod
    def resolve_status(data_copy: DataCopy, info: graphene.ResolveInfo) -> str:
        return data_copy.status

    @staticmethod
    def resolve_download(data_copy: DataCopy, info: graphene.ResolveInfo) -> DownloadLink | None:
        if data_copy.status != DataCopy.Status.READY:
            return None
        return DownloadLink(
            url=LINK.url(info.context, data_copy.user_id, data_copy.pk),
            expires_at=LINK.expires_at(),
        )


class AccountDeletion(graphene.ObjectType):
    """A pending deletion of the consumer's account (cooling off)."""

    requested_at = graphene.DateTime(required=True)
    erase_after = graphene.DateTime(
        required=True, description="When the account is erased unless cancelled."
    )


class PersonalData(graphene.ObjectType):
    """The signed-in consumer's requests about their personal data."""

    data_copy = graphene.Field(DataCopyType, description="The latest copy asked for, if any.")
    deletion = graphene.Field(AccountDeletion, description="Set while a deletion is pending.")

    @staticmethod
    def resolve_data_copy(consumer: User, info: graphene.ResolveInfo) -> DataCopy | None:
        return services.latest_copy(consumer)

    @staticmethod
    def resolve_deletion(consumer: User, info: graphene.ResolveInfo) -> ErasureRequest | None:
        return erasure.pending(consumer)
