"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class MallErrorCode(ErrorCodeEnum):
    """The shared mall: products, stock, orders, addresses."""

    INVALID_TITLE = "INVALID_TITLE", "A product needs a title of at most 200 characters."
    NOT_CONSIGNED = "NOT_CONSIGNED", "Platform products are not consigned."
    INVALID_QUANTITY = "INVALID_QUANTITY", "The quantity is out of range."
    NOT_A_COUPON_PRODUCT = "NOT_A_COUPON_PRODUCT", "Only coupon products take coupon codes."
    INVALID_COUPON = "INVALID_COUPON", "A coupon file or code is not valid."
    DUPLICATE_COUPON = "DUPLICATE_COUPON", "Coupon codes repeat (the message names the lines)."
    NOT_AVAILABLE = "NOT_AVAILABLE", "The product is not listed or not available now."
    OUT_OF_STOCK = "OUT_OF_STOCK", "The product is sold out."
    ADDRESS_REQUIRED = "ADDRESS_REQUIRED", "Physical goods need a delivery address."
    LIMIT_REACHED = "LIMIT_REACHED", "The consumer reached the product's per-consumer limit."
    NOT_CANCELLABLE = "NOT_CANCELLABLE", "Only orders not yet shipped can be cancelled."
    TRACKING_REQUIRED = "TRACKING_REQUIRED", "Shipping needs the carrier and the tracking number."
    INVALID_ORDER_STATUS = "INVALID_ORDER_STATUS", "The order cannot move to that status."
    INVALID_ADDRESS = "INVALID_ADDRESS", "An address field is missing or too long."
    TOO_MANY_ADDRESSES = "TOO_MANY_ADDRESSES", "The address book is full."
    PHONE_REQUIRED = "PHONE_REQUIRED", "Physical goods need a phone number bound to the account."
