"""Managing a merchant's staff: invite, change role, remove.

Admins manage operators, viewers and other admins; only an owner may grant the
owner role or change an owner. A merchant always keeps at least one owner: the
owner rows are locked while counting, so two concurrent demotions cannot both
pass.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from accounts.models import User
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants import emails
from tenants.error_codes import MerchantErrorCode
from tenants.models import Membership, Role


class StaffError(DomainError):
    pass


def _check_role_value(role: str) -> str:
    if role not in Role.values:
        raise StaffError(MerchantErrorCode.INVALID_ROLE, _("Unknown role."), "role")
    return role


def _ensure_may_manage(actor: Membership, role: str) -> None:
    if not actor.has_role(Role.ADMIN):
        raise DomainError(
            CoreErrorCode.PERMISSION_DENIED, _("Only admins and owners manage staff.")
        )
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise DomainError(CoreErrorCode.PERMISSION_DENIED, _("Only an owner can act on owners."))


def _ensure_other_owner_remains(membership: Membership) -> None:
    owners = list(
        Membership.objects.select_for_update()
        .filter(merchant_id=membership.merchant_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [membership.pk]:
        raise StaffError(
            MerchantErrorCode.LAST_OWNER, _("A merchant must keep at least one owner.")
        )


def invitation_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    page = reverse("console-accept-invitation")
    return f"{settings.PUBLIC_BASE_URL}{page}?uid={uid}&token={token}"


def invite(actor: Membership, email: str, role: str, name: str = "") -> Membership:
    """Add a staff member by email. A new person gets an email to choose a password."""
    _check_role_value(role)
    _ensure_may_manage(actor, role)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise StaffError(
            MerchantErrorCode.INVALID_EMAIL, _("Enter a valid email address."), "email"
        ) from exc
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        created = user is None
        if user is None:
            user = User.objects.create_user(email, None, name=name[:150])
        if Membership.objects.filter(merchant_id=actor.merchant_id, user=user).exists():
            raise StaffError(
                MerchantErrorCode.ALREADY_MEMBER, _("This person is already on the staff."), "email"
            )
        membership = Membership.objects.create(
            merchant_id=actor.merchant_id, user=user, role=role, invited_by=actor.user
        )
        merchant_name = actor.merchant.name
        # Anyone who has not chosen a password yet (new, or invited before and never
        # accepted, e.g. the link expired) needs a link to choose one.
        needs_password = created or not user.has_usable_password()
        link = invitation_link(user) if needs_password else f"{settings.PUBLIC_BASE_URL}/merchant/"
        subject = _("You have been invited to %(m)s") % {"m": merchant_name}
        body = _("You are now %(role)s at %(m)s. Open %(link)s to start.") % {
            "role": Role(role).label,
            "m": merchant_name,
            "link": link,
        }
        # A mail failure does not undo the membership: the invitation can be sent
        # again by removing and re-inviting.
        emails.send_on_commit([email], subject, body)
    return membership


def accept_invitation(uid: str, token: str, password: str) -> User:
    """Set the password of an invited person from the link in their email."""
    from django.contrib.auth.password_validation import validate_password

    try:
        user = User.objects.get(pk=int(urlsafe_base64_decode(uid).decode()))
    except (ValueError, TypeError, User.DoesNotExist) as exc:
        raise StaffError(
            AccountErrorCode.TOKEN_INVALID, _("This invitation link is not valid.")
        ) from exc
    if not default_token_generator.check_token(user, token):
        raise StaffError(
            AccountErrorCode.TOKEN_INVALID, _("This invitation link is not valid or was used.")
        )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise StaffError(
            MerchantErrorCode.INVALID_PASSWORD, " ".join(exc.messages), "password"
        ) from exc
    user.set_password(password)
    user.save(update_fields=["password"])  # also invalidates the token
    return user


def change_role(actor: Membership, membership: Membership, role: str) -> Membership:
    _check_role_value(role)
    # Acting on an owner, or making someone owner, both need an owner.
    _ensure_may_manage(actor, Role.OWNER if Role.OWNER in (role, membership.role) else role)
    with transaction.atomic():
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_other_owner_remains(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove(actor: Membership, membership: Membership) -> None:
    _ensure_may_manage(actor, membership.role)
    with transaction.atomic():
        if membership.role == Role.OWNER:
            _ensure_other_owner_remains(membership)
        membership.delete()
