"""Merchant API: the current merchant, its staff, and the signed-in staff member."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField, DjangoObjectType

from accounts import tokens
from accounts.models import User
from accounts.schema import AuthTokens, _tokens, _user_agent
from api.mutations import DomainMutation
from api.permissions import client_ip, require_membership, require_user
from api.types import choice_value
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants import signup, staff
from tenants.models import Membership, Merchant, MerchantStatus, Role

RoleEnum = graphene.Enum("StaffRole", [(value.upper(), value) for value in Role.values])
MerchantStatusEnum = graphene.Enum(
    "MerchantStatus", [(value.upper(), value) for value in MerchantStatus.values]
)


class MerchantType(graphene.ObjectType):
    class Meta:
        name = "Merchant"

    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    status = graphene.Field(MerchantStatusEnum, required=True)
    points_expiry_days = graphene.Int(required=True)
    contact_email = graphene.String(required=True)

    @staticmethod
    def resolve_status(merchant: Merchant, info: graphene.ResolveInfo) -> str:
        return choice_value(merchant.status)  # a row just created holds the enum member


class MembershipNode:
    """Two node types show a Membership row: ``StaffMember`` and ``MyMembership``.

    ``node(id:)`` returns the row itself, and graphene picks its GraphQL type by
    model, which cannot tell the two apart (a StaffMember ID came back as a
    MyMembership, under another ID). The type that loaded a row by ID marks it.
    """

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Membership | None:
        membership = super().get_node(info, id)  # type: ignore[misc]
        if membership is not None:
            membership._node_type = cls
        return membership

    @classmethod
    def is_type_of(cls, root: Any, info: graphene.ResolveInfo) -> bool:
        matches = super().is_type_of(root, info)  # type: ignore[misc]
        return matches and getattr(root, "_node_type", cls) is cls


class StaffMember(MembershipNode, DjangoObjectType):
    """A person on the current merchant's staff, with their role."""

    email = graphene.String(required=True)
    name = graphene.String(required=True)
    role = graphene.Field(RoleEnum, required=True)

    class Meta:
        model = Membership
        interfaces = (graphene.relay.Node,)
        fields = ("id", "created_at")

    @staticmethod
    def resolve_email(membership: Membership, info: graphene.ResolveInfo) -> str:
        return membership.user.email or ""

    @staticmethod
    def resolve_name(membership: Membership, info: graphene.ResolveInfo) -> str:
        return membership.user.name

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Membership], info: graphene.ResolveInfo
    ) -> QuerySet[Membership]:
        merchant = require_membership(info).merchant
        return queryset.filter(merchant=merchant).select_related("user")


class MyMembership(MembershipNode, DjangoObjectType):
    """One merchant the signed-in staff member belongs to (for the merchant switcher)."""

    merchant = graphene.Field(MerchantType, required=True)
    role = graphene.Field(RoleEnum, required=True)

    class Meta:
        model = Membership
        interfaces = (graphene.relay.Node,)
        fields = ("id",)
        skip_registry = True

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Membership], info: graphene.ResolveInfo
    ) -> QuerySet[Membership]:
        return queryset.filter(user=require_user(info)).select_related("merchant")


class StaffUser(graphene.ObjectType):
    """The signed-in staff member."""

    email = graphene.String(required=True)
    name = graphene.String(required=True)
    memberships = DjangoConnectionField(MyMembership)

    @staticmethod
    def resolve_memberships(user: User, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Membership.objects.order_by("merchant__slug")


def _member(info: graphene.ResolveInfo, member_id: str) -> Membership:
    """A staff member of the current merchant by global ID; others are not found.

    graphene raises plain exceptions for a malformed ID, an ID of another type or a
    non-numeric key; to the caller each is simply not found (an expected failure).
    """
    try:
        member = graphene.relay.Node.get_node_from_global_id(info, member_id, only_type=StaffMember)
    except DomainError:
        raise
    except Exception:
        member = None
    if member is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, "No such staff member.", "id")
    return member


class StaffInvite(DomainMutation):
    """Add someone to the staff (admin or owner; only owners invite owners)."""

    class Arguments:
        email = graphene.String(required=True)
        role = RoleEnum(required=True)
        name = graphene.String(default_value="")

    member = graphene.Field(StaffMember)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, email: str, role: Any, name: str
    ) -> StaffInvite:
        actor = require_membership(info, Role.ADMIN)
        return cls(member=staff.invite(actor, email, _role_value(role), name or ""))


class StaffChangeRole(DomainMutation):
    class Arguments:
        id = graphene.ID(required=True)
        role = RoleEnum(required=True)

    member = graphene.Field(StaffMember)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str, role: Any) -> StaffChangeRole:
        actor = require_membership(info, Role.ADMIN)
        return cls(member=staff.change_role(actor, _member(info, id), _role_value(role)))


class StaffRemove(DomainMutation):
    class Arguments:
        id = graphene.ID(required=True)

    removed_id = graphene.ID()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> StaffRemove:
        actor = require_membership(info, Role.ADMIN)
        staff.remove(actor, _member(info, id))
        return cls(removed_id=id)


class AcceptInvitation(DomainMutation):
    """Choose a password from an invitation link; signs the new staff member in."""

    class Arguments:
        uid = graphene.String(required=True)
        token = graphene.String(required=True)
        password = graphene.String(required=True)

    tokens = graphene.Field(AuthTokens)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, uid: str, token: str, password: str
    ) -> AcceptInvitation:
        user = staff.accept_invitation(uid, token, password)
        return cls(tokens=_tokens(tokens.issue(user, _user_agent(info))))


class MerchantSignUp(DomainMutation):
    """Apply for a merchant account; no sign-in needed (rate limited per address).

    Creates the owner's staff account (the contact email and the password) and a
    pending merchant. The owner can sign in at once; until the platform's operators
    approve the application, every field but ``merchant``, ``myRole`` and ``me``
    answers ``MERCHANT_NOT_ACTIVE``. Every field at fault is reported.
    """

    class Arguments:
        name = graphene.String(required=True, description="The business's name.")
        slug = graphene.String(
            required=True, description="3-40 lowercase letters, digits and hyphens; unique."
        )
        contact_email = graphene.String(
            required=True, description="Where decisions are sent; also the owner's sign-in."
        )
        owner_name = graphene.String(required=True, description="The owner's own name.")
        password = graphene.String(required=True, description="The owner's password.")
        contact_phone = graphene.String(default_value="")
        about = graphene.String(default_value="", description="What the business does.")
        language = graphene.String(
            default_value="", description="Language of the emails (zh-hans or en)."
        )

    merchant = graphene.Field(MerchantType)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **fields: Any) -> MerchantSignUp:
        return cls(merchant=signup.sign_up(**fields, ip=client_ip(info.context)))


def _role_value(role: Any) -> str:
    return getattr(role, "value", role)


class MerchantQueries(graphene.ObjectType):
    me = graphene.Field(StaffUser, description="The signed-in staff member, or null.")
    merchant = graphene.Field(
        MerchantType, required=True, description="The merchant this request is for."
    )
    my_role = graphene.Field(RoleEnum, required=True)
    staff = DjangoConnectionField(StaffMember)

    @staticmethod
    def resolve_me(root: Any, info: graphene.ResolveInfo) -> User | None:
        user = info.context.user
        return user if user.is_authenticated and user.email else None

    # Who and where: answered for an application too (pending or declined), so that its
    # staff can see its status; every other field refuses it (MERCHANT_NOT_ACTIVE).
    @staticmethod
    def resolve_merchant(root: Any, info: graphene.ResolveInfo) -> Merchant:
        return require_membership(info, approved=False).merchant

    @staticmethod
    def resolve_my_role(root: Any, info: graphene.ResolveInfo) -> str:
        return require_membership(info, approved=False).role

    @staticmethod
    def resolve_staff(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Membership.objects.order_by("created_at", "id")


class MerchantMutations(graphene.ObjectType):
    staff_invite = StaffInvite.Field()
    staff_change_role = StaffChangeRole.Field()
    staff_remove = StaffRemove.Field()
    accept_invitation = AcceptInvitation.Field()
    merchant_sign_up = MerchantSignUp.Field()
