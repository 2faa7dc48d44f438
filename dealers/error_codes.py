"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class DealerErrorCode(ErrorCodeEnum):
    """Dealers, their sales regions, batch assignments and diversion."""

    INVALID_DEALER_NAME = "INVALID_DEALER_NAME", "A dealer's name is 1 to 100 characters."
    DEALER_NAME_TAKEN = "DEALER_NAME_TAKEN", "Another dealer of the merchant has this name."
    INVALID_SALES_REGION = (
        "INVALID_SALES_REGION",
        "A sales region is a GB/T 2260 province, city or district code (six digits).",
    )
    SALES_REGIONS_REQUIRED = (
        "SALES_REGIONS_REQUIRED",
        "A dealer needs 1 to 200 sales regions, none inside another.",
    )
    DEALER_IN_USE = (
        "DEALER_IN_USE",
        "The dealer has goods assigned or diversion events: remove its assignments first.",
    )
    INVALID_SERIAL_RANGE = (
        "INVALID_SERIAL_RANGE",
        "The serial range must lie inside the batch (0 to its size - 1), first <= last.",
    )
    ASSIGNMENT_OVERLAPS = (
        "ASSIGNMENT_OVERLAPS",
        "Some of these serials are already assigned to a dealer.",
    )
    DIVERSION_REFUSED = (
        "DIVERSION_REFUSED",
        "The code's goods are for another sales region: its points are not collected here.",
    )
