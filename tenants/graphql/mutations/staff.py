"""Staff: invite, change a role, remove (admins); accept an invitation (signs in)."""

from __future__ import annotations

from typing import Any

import graphene

from accounts import tokens
from accounts.graphql.types import AuthTokens
from api.mutations import DomainMutation
from api.permissions import require_membership, user_agent
from api.types import choice_value
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants import staff
from tenants.graphql.types import RoleEnum, StaffMember
from tenants.models import Membership, Role


def _member(info: graphene.ResolveInfo, member_id: str) -> Membership:
    """A staff member of the current merchant by global ID; others are not found.

    graphene raises plain exceptions for a malformed ID, an ID of another type or a
    non-numeric key; to the caller each is simply not found (an expected failure).
    ``StaffMember.get_queryset`` keeps the lookup to the current merchant.
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
        email = graphene.String(required=True, description="At most 254 characters.")
        role = RoleEnum(required=True)
        name = graphene.String(default_value="")

    member = graphene.Field(StaffMember)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, email: str, role: Any, name: str
    ) -> StaffInvite:
        actor = require_membership(info, Role.ADMIN)
        return cls(member=staff.invite(actor, email, choice_value(role), name or ""))


class StaffChangeRole(DomainMutation):
    class Arguments:
        id = graphene.ID(required=True)
        role = RoleEnum(required=True)

    member = graphene.Field(StaffMember)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str, role: Any) -> StaffChangeRole:
        actor = require_membership(info, Role.ADMIN)
        return cls(member=staff.change_role(actor, _member(info, id), choice_value(role)))


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
        return cls(tokens=AuthTokens.from_pair(tokens.issue(user, user_agent(info.context))))
