"""Dealers, their sales regions, batch assignments and campaigns' diversion policies.

Every function runs in the merchant's schema (the API switched to it); each checks its
whole input before writing, so a refusal writes nothing.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CodeBatch
from core import regions
from core.errors import DomainError
from dealers.error_codes import DealerErrorCode
from dealers.models import (
    MAX_REGIONS,
    Dealer,
    DealerAssignment,
    DiversionAction,
    DiversionEvent,
    DiversionPolicy,
)


def clean_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 100:
        raise DomainError(
            DealerErrorCode.INVALID_DEALER_NAME,
            _("A dealer's name is 1 to 100 characters."),
            "name",
        )
    return cleaned


def clean_regions(codes: list[str]) -> list[str]:
    """GB/T 2260 codes, deduplicated and sorted; one inside another is refused (it says
    nothing the outer one does not, and a merchant who typed it meant something else)."""
    unique = sorted({code.strip() for code in codes})
    if not 1 <= len(unique) <= MAX_REGIONS:
        raise DomainError(
            DealerErrorCode.SALES_REGIONS_REQUIRED,
            _("Give the dealer 1 to 200 sales regions."),
            "regions",
        )
    for code in unique:
        if regions.division(code) is None:
            raise DomainError(
                DealerErrorCode.INVALID_SALES_REGION,
                _("%(code)s is not a province, city or district code.") % {"code": code[:12]},
                "regions",
            )
    for code in unique:
        above = [d.code for d in regions.path(code)[:-1]]
        if any(outer in unique for outer in above):
            raise DomainError(
                DealerErrorCode.SALES_REGIONS_REQUIRED,
                _("%(name)s lies inside another of the dealer's regions.")
                % {"name": regions.full_name(code)},
                "regions",
            )
    return unique


def _name_taken() -> DomainError:
    return DomainError(
        DealerErrorCode.DEALER_NAME_TAKEN, _("Another dealer already has this name."), "name"
    )


def create_dealer(name: str, sales_regions: list[str]) -> Dealer:
    dealer = Dealer(name=clean_name(name), regions=clean_regions(sales_regions))
    try:
        with transaction.atomic():
            dealer.save()
    except IntegrityError as exc:
        raise _name_taken() from exc
    return dealer


def update_dealer(
    dealer: Dealer, name: str | None = None, sales_regions: list[str] | None = None
) -> Dealer:
    new_name = clean_name(name) if name is not None else dealer.name
    new_regions = clean_regions(sales_regions) if sales_regions is not None else dealer.regions
    dealer.name, dealer.regions = new_name, new_regions
    try:
        with transaction.atomic():
            dealer.save(update_fields=["name", "regions"])
    except IntegrityError as exc:
        raise _name_taken() from exc
    return dealer


def delete_dealer(dealer: Dealer) -> None:
    """Only a dealer nothing refers to: its assignments and diversions are history."""
    with transaction.atomic():
        in_use = (
            DealerAssignment.objects.filter(dealer=dealer).exists()
            or DiversionEvent.objects.filter(dealer=dealer).exists()
        )
        if in_use:
            raise DomainError(
                DealerErrorCode.DEALER_IN_USE,
                _("The dealer has goods or diversion events; remove its assignments first."),
                "id",
            )
        dealer.delete()


def assign(
    dealer: Dealer,
    batch: CodeBatch,
    first_serial: int | None = None,
    last_serial: int | None = None,
) -> DealerAssignment:
    """Assign a batch (no serials given) or its serials ``first``..``last`` to a dealer.

    The batch's row is locked while the overlap is checked, so two concurrent
    assignments of one batch cannot both pass the check.
    """
    whole = first_serial is None and last_serial is None
    first = 0 if first_serial is None else first_serial
    last = batch.size - 1 if last_serial is None else last_serial
    if not (0 <= first <= last < batch.size):
        raise DomainError(
            DealerErrorCode.INVALID_SERIAL_RANGE,
            _("The serials must lie within the batch: 0 to %(last)d, first no greater than last.")
            % {"last": batch.size - 1},
            "firstSerial" if not whole else "batchId",
        )
    with transaction.atomic():
        CodeBatch.objects.select_for_update().filter(pk=batch.pk).first()
        overlapping = DealerAssignment.objects.filter(
            batch=batch, first_serial__lte=last, last_serial__gte=first
        ).exists()
        if overlapping:
            raise DomainError(
                DealerErrorCode.ASSIGNMENT_OVERLAPS,
                _("Some of these serials are already assigned to a dealer."),
                "firstSerial",
            )
        return DealerAssignment.objects.create(
            dealer=dealer, batch=batch, first_serial=first, last_serial=last
        )


def unassign(assignment: DealerAssignment) -> None:
    """Goods no longer the dealer's; diversions already recorded stay."""
    assignment.delete()


def set_diversion_action(campaign: Campaign, action: DiversionAction) -> DiversionPolicy:
    policy, _created = DiversionPolicy.objects.update_or_create(
        campaign=campaign, defaults={"action": action, "updated_at": timezone.now()}
    )
    return policy


def diversion_action(campaign: Campaign) -> DiversionAction:
    found = DiversionPolicy.objects.filter(campaign=campaign).values_list("action", flat=True)
    return DiversionAction(found.first() or DiversionAction.FLAG)


def region_prefix(code: str) -> str:
    """The prefix every division inside a province or city shares (``44`` or ``4403``)."""
    found = regions.division(code)
    if found is None or found.level is regions.Level.DISTRICT:
        if found is None:
            raise DomainError(
                DealerErrorCode.INVALID_SALES_REGION,
                _("%(code)s is not a province, city or district code.") % {"code": code[:12]},
                "region",
            )
        return code
    return code[:2] if found.level is regions.Level.PROVINCE else code[:4]
