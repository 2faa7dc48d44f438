"""A merchant's brand on its labels: the optional logo (issue 24).

The logo is uploaded as code imports' files are (decision 0263): the merchant API's
``merchantLogoUpload`` (owners and admins) gives a signed link (``UPLOAD_LINK``, 15
minutes) that takes the file by POST (``multipart/form-data``, field ``file``;
``tenants.views.upload_logo``), since the GraphQL endpoint takes no body over 64 KB.
The file is checked by its content with Pillow, never its name: a PNG or JPEG of at
most ``MAX_LOGO_BYTES``, each side ``MIN_LOGO_SIDE`` to ``MAX_LOGO_SIDE`` pixels. It
is stored as uploaded in the default storage (``Merchant.logo``, under ``logos/``),
and ``campaigns.exports.render`` draws it beside the brand's name on every label.
"""

from __future__ import annotations

import base64
import io
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from core.errors import DomainError
from core.signed_links import SignedLink
from tenants.error_codes import MerchantErrorCode
from tenants.models import Merchant

MAX_LOGO_BYTES = 512 * 1024
MIN_LOGO_SIDE, MAX_LOGO_SIDE = 64, 2048
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg"}  # Pillow's format name: the stored extension

# Names the merchant (its schema); handed only to owners and admins, for 15 minutes.
UPLOAD_LINK = SignedLink(
    salt="tenants.branding.logo-upload",
    url_name="merchant-logo-upload",
    fields={"s": str},
    expired_message=gettext_lazy(
        "This upload link has expired. Choose the logo again in the merchant console."
    ),
)


def upload_path(merchant: Merchant) -> str:
    return UPLOAD_LINK.path(merchant.schema_name)


def check_logo(data: bytes) -> str:
    """The extension of a valid logo (``png`` or ``jpg``), else a coded ``DomainError``.

    The size is checked before Pillow reads anything; Pillow reads the header and then
    decodes the whole image (``load``), so a truncated or forged file is refused here
    rather than when a label is printed.
    """
    check_size(len(data))
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            width, height = image.size
            if fmt in LOGO_FORMATS and all(
                MIN_LOGO_SIDE <= side <= MAX_LOGO_SIDE for side in (width, height)
            ):
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        fmt = ""
    if fmt not in LOGO_FORMATS:
        raise DomainError(
            MerchantErrorCode.LOGO_NOT_AN_IMAGE, _("The logo must be a PNG or JPEG image."), "file"
        )
    if not all(MIN_LOGO_SIDE <= side <= MAX_LOGO_SIDE for side in (width, height)):
        raise DomainError(
            MerchantErrorCode.LOGO_BAD_DIMENSIONS,
            _("The logo must be 64 to 2048 pixels wide and high."),
            "file",
        )
    return LOGO_FORMATS[fmt]


def check_size(size: int) -> None:
    """``LOGO_TOO_LARGE`` over ``MAX_LOGO_BYTES``."""
    if size > MAX_LOGO_BYTES:
        raise DomainError(
            MerchantErrorCode.LOGO_TOO_LARGE, _("The logo must be 512 KB or smaller."), "file"
        )


def set_logo(merchant: Merchant, data: bytes) -> Merchant:
    """Replace ``merchant``'s logo with ``data`` (checked by ``check_logo``).

    A new, unguessable file name each time (the storage may be served publicly, and a
    cached old logo must not stand for the new one); the old file is deleted once the
    row points at the new one.
    """
    extension = check_logo(data)
    old = merchant.logo.name
    name = f"{merchant.schema_name}-{secrets.token_hex(8)}.{extension}"
    with transaction.atomic():
        merchant.logo.save(name, ContentFile(data), save=False)
        Merchant.objects.filter(pk=merchant.pk).update(logo=merchant.logo.name)
    if old:
        transaction.on_commit(lambda: _delete(old), robust=True)
    return merchant


def remove_logo(merchant: Merchant) -> Merchant:
    """Labels without a logo from now on (idempotent)."""
    old = merchant.logo.name
    Merchant.objects.filter(pk=merchant.pk).update(logo="")
    merchant.logo = ""  # the descriptor takes a name
    if old:
        transaction.on_commit(lambda: _delete(old), robust=True)
    return merchant


def logo_bytes(merchant: Merchant | None) -> bytes | None:
    """The stored logo of ``merchant``, or None (none, or its file is gone)."""
    name = getattr(getattr(merchant, "logo", None), "name", "") or ""
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as file:
            return bytes(file.read())
    except OSError:
        return None


def logo_data_url(merchant: Merchant) -> str | None:
    """The logo as a ``data:`` URL, for the console's thumbnail (the storage is private)."""
    data = logo_bytes(merchant)
    if data is None:
        return None
    kind = "png" if str(merchant.logo.name).endswith(".png") else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


def _delete(name: str) -> None:
    default_storage.delete(name)
