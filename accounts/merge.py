"""One account, one wallet: binding a phone or a WeChat user that is already another account.

A consumer may first sign in by phone and later inside WeChat (or the reverse), which
makes two accounts. Binding proves the other identity (a one-time code to the phone,
or the single-use WeChat ticket) and then:

- the phone or the OpenID is free: it is bound to the signed-in account;
- it belongs to another account that holds nothing (no points, no orders): the empty
  account is merged into the other silently (if the signed-in one is the empty one,
  the consumer is signed in as the other from then on: new tokens);
- both hold something: nothing happens yet; the consumer is shown what the other
  holds and confirms with a signed merge token naming both accounts
  (``confirm_merge``), valid ``MERGE_TOKEN_SECONDS``.

Which account survives a confirmed merge: the older one (decision 0171), whose id the
merchants' history, webhooks and analytics already know best.

``merge`` is one database transaction: both users are locked in id order (two merges
touching one account take turns), then each app moves what it keeps for the merged
consumer, through the steps it registered here (``register``; points: the wallet as
one ledger transaction; the mall: orders and addresses; campaigns: the per-campaign
history in merchants' schemas), then this module moves the WeChat identities and the
phone, deactivates the merged account (kept, ``merged_into`` the survivor) and revokes
its sessions. The apps register rather than being called from here because they stand
above accounts (ARCHITECTURE.md, "Layout"): accounts never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import otp
from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError, load_signed
from accounts.models import AuthSession, Consent, User, WeChatIdentity
from accounts.phones import normalize_phone, phone_proven
from accounts.session_cache import sessions
from accounts.wechat import read_ticket, use_ticket

MERGE_TOKEN_SECONDS = 10 * 60
_SALT = "accounts.merge"
# A merge and a concurrent cancel of one of the merged account's orders lock the same
# rows in opposite orders; PostgreSQL breaks the deadlock by failing one: the merge
# simply runs again.
DEADLOCK_ATTEMPTS = 3


@dataclass(frozen=True)
class MergeStep:
    """What one app keeps for a consumer, and how it moves to the surviving account.

    ``holdings(consumer_id)``: counts the consumer would lose sight of (``points``,
    ``orders``); ``move(merged_id, survivor_id)`` runs inside the merge's transaction,
    after the two users are locked, in ``order``.
    """

    name: str
    order: int
    holdings: Callable[[int], dict[str, int]]
    move: Callable[[int, int], object]


_steps: dict[str, MergeStep] = {}


def register(step: MergeStep) -> None:
    """Called by an app's ``ready()``; registering a name again replaces it."""
    _steps[step.name] = step


def steps() -> list[MergeStep]:
    return sorted(_steps.values(), key=lambda step: step.order)


def holdings(consumer_id: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for step in steps():
        for name, count in step.holdings(consumer_id).items():
            found[name] = found.get(name, 0) + count
    return found


@dataclass(frozen=True)
class PendingMerge:
    """A merge the consumer must confirm: the other account and what it holds."""

    token: str
    other: User
    other_holds: dict[str, int]
    # Whether the signed-in account is the one that stays.
    keeps_signed_in_account: bool
    expires_in: int = MERGE_TOKEN_SECONDS


@dataclass(frozen=True)
class Binding:
    """What a bind answers: the account signed in afterwards, and any merge to confirm."""

    user: User
    # The signed-in account was merged into ``user``: the caller needs its tokens.
    switched: bool = False
    merge: PendingMerge | None = field(default=None)


# --- Binding ------------------------------------------------------------------------


def bind_phone(user: User, raw_phone: str, code: str) -> Binding:
    """Bind a phone, proven by its one-time code, to a signed-in consumer without one."""
    phone = normalize_phone(raw_phone)
    if user.phone and user.phone != phone:
        raise AuthError(
            AccountErrorCode.PHONE_ALREADY_BOUND,
            _("Your account already has a phone number."),
            "phone",
        )
    otp.check_code(phone, code)
    if user.phone == phone:
        return Binding(user)
    owner = User.objects.filter(phone=phone).first()
    if owner is None:
        user.phone = phone
        try:
            with transaction.atomic():
                user.save(update_fields=["phone"])
            phone_proven(user)
            return Binding(user)
        except IntegrityError:
            # Signed in with (or bound) a moment ago by someone holding the same code.
            user.phone = None
            owner = User.objects.get(phone=phone)
    return _join(user, owner)


def bind_wechat(user: User, ticket: str) -> Binding:
    """Bind the WeChat user of an OAuth hand-over ticket (``accounts.wechat``) to a
    signed-in consumer."""
    profile = read_ticket(ticket)
    mine = WeChatIdentity.objects.filter(user=user, app_id=profile.app_id).first()
    if mine is not None and mine.openid != profile.openid:
        raise AuthError(
            AccountErrorCode.WECHAT_ALREADY_BOUND,
            _("Your account is already bound to another WeChat user."),
            "ticket",
        )
    profile = use_ticket(ticket)
    if mine is not None:
        return Binding(user)
    identity = (
        WeChatIdentity.objects.select_related("user")
        .filter(app_id=profile.app_id, openid=profile.openid)
        .first()
    )
    if identity is None:
        try:
            with transaction.atomic():
                WeChatIdentity.objects.create(
                    user=user, app_id=profile.app_id, openid=profile.openid, unionid=profile.unionid
                )
            return Binding(user)
        except IntegrityError:
            identity = WeChatIdentity.objects.select_related("user").get(
                app_id=profile.app_id, openid=profile.openid
            )
    if identity.user_id == user.pk:
        return Binding(user)
    return _join(user, identity.user)


def _join(caller: User, other: User) -> Binding:
    """The caller proved it owns ``other`` too: merge now, or ask to confirm."""
    if not other.is_active:
        raise AuthError(AccountErrorCode.ACCOUNT_DISABLED, _("That account is disabled."))
    _ensure_mergeable(caller, other)
    other_holds = holdings(other.pk)
    if not any(other_holds.values()):
        survivor, merged = caller, other
    elif not any(holdings(caller.pk).values()):
        survivor, merged = other, caller
    else:
        survivor = _older(caller, other)
        return Binding(
            caller,
            merge=PendingMerge(
                token=_token(caller, survivor, other if survivor is caller else caller),
                other=other,
                other_holds=other_holds,
                keeps_signed_in_account=survivor is caller,
            ),
        )
    kept = merge(survivor.pk, merged.pk)
    return Binding(kept, switched=kept.pk != caller.pk)


def _older(a: User, b: User) -> User:
    return min(a, b, key=lambda user: (user.date_joined, user.pk))


def _ensure_mergeable(a: User, b: User) -> None:
    """Two accounts become one only if nothing of theirs would have to be dropped."""
    problem = None
    if not (a.is_consumer and b.is_consumer):
        problem = _("Staff accounts cannot be merged.")
    elif a.phone and b.phone and a.phone != b.phone:
        problem = _("These accounts have different phone numbers.")
    else:
        ours = dict(
            WeChatIdentity.objects.filter(
                user__in=[a.pk, b.pk], app_id=settings.WECHAT_APP_ID
            ).values_list("user_id", "openid")
        )
        if len(set(ours.values())) > 1:
            problem = _("These accounts are bound to different WeChat users.")
    if problem is not None:
        raise AuthError(AccountErrorCode.ACCOUNTS_CANNOT_MERGE, problem)


# --- The merge token ------------------------------------------------------------------


def _token(caller: User, survivor: User, merged: User) -> str:
    return signing.dumps({"c": caller.pk, "s": survivor.pk, "m": merged.pk}, salt=_SALT)


def confirm_merge(caller: User, token: str) -> Binding:
    """Merge the two accounts a token names, for the signed-in account it was given to."""
    payload = load_signed(
        token,
        salt=_SALT,
        max_age=MERGE_TOKEN_SECONDS,
        expired=lambda: AuthError(
            AccountErrorCode.MERGE_TOKEN_EXPIRED,
            _("The merge took too long. Please bind again."),
            "token",
        ),
        invalid=_invalid_token,
    )
    if not isinstance(payload, dict) or payload.get("c") != caller.pk:
        raise _invalid_token()
    kept = merge(int(payload["s"]), int(payload["m"]))
    return Binding(kept, switched=kept.pk != caller.pk)


def _invalid_token() -> AuthError:
    return AuthError(
        AccountErrorCode.MERGE_TOKEN_INVALID,
        _("This merge is not valid any more. Please bind again."),
        "token",
    )


# --- The merge ------------------------------------------------------------------------


def merge(survivor_id: int, merged_id: int) -> User:
    """Merge account ``merged_id`` into ``survivor_id``, in one transaction; the survivor."""
    for attempt in range(DEADLOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                return _merge(survivor_id, merged_id)
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "40P01":
                raise
            if attempt == DEADLOCK_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _merge(survivor_id: int, merged_id: int) -> User:
    # FOR NO KEY UPDATE: two merges of one account take turns, while claims and redeems,
    # whose inserts check their foreign keys to the user (FOR KEY SHARE), are not held
    # up by it: they queue on the wallet, which the merge locks next in id order, as
    # they do. (FOR UPDATE would deadlock with a claim that holds the wallet.)
    users = {
        user.pk: user
        for user in User.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted({survivor_id, merged_id}))
        .order_by("pk")
    }
    survivor, merged = users.get(survivor_id), users.get(merged_id)
    if (
        survivor is None
        or merged is None
        or survivor_id == merged_id
        or not survivor.is_active
        or not merged.is_active
    ):
        # Already merged (a second confirmation), or deactivated meanwhile.
        raise _invalid_token()
    _ensure_mergeable(survivor, merged)
    for step in steps():
        step.move(merged.pk, survivor.pk)
    # An identity under an app the survivor has one for already stays (the check above
    # ruled that out for our own app; under a merchant's, the survivor's is kept).
    taken = WeChatIdentity.objects.filter(user=survivor).values_list("app_id", flat=True)
    WeChatIdentity.objects.filter(user=merged).exclude(app_id__in=list(taken)).update(user=survivor)
    # The same person agreed: their consents stay evidence, on the account that stays.
    Consent.objects.filter(user=merged).update(user=survivor)
    now = timezone.now()
    phone = merged.phone
    merged.phone, merged.is_active = None, False
    merged.merged_into, merged.merged_at = survivor, now
    merged.save(update_fields=["phone", "is_active", "merged_into", "merged_at"])
    if phone and not survivor.phone:
        survivor.phone = phone
        survivor.save(update_fields=["phone"])
    # Accounts merged into the merged one point at the survivor now: one hop, always.
    User.objects.filter(merged_into=merged).update(merged_into=survivor)
    AuthSession.objects.filter(user=merged, revoked_at__isnull=True).update(revoked_at=now)
    sessions.changed(user_id=merged.pk)
    return survivor
