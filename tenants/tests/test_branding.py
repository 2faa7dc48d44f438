"""The brand's logo: uploaded by owners and admins through the merchant API, checked by
its content (PNG or JPEG, 512 KB, 64 to 2048 pixels a side), stored, replaced, removed."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tenants import branding
from tenants.models import Merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def image_bytes(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "white").save(out, format=fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def cleanup(tenants: Tenants) -> Iterator[None]:
    yield
    for name in default_storage.listdir("logos")[1] if default_storage.exists("logos") else ():
        if name.startswith(tenants.acme.schema_name + "-"):
            default_storage.delete(f"logos/{name}")


def upload_url(api: Api, token: str) -> str:
    result = api.op("MerchantLogoUpload", token=token, merchant="acme")
    answer = result["data"]["merchantLogoUpload"]
    assert answer["errors"] == [], result
    return str(answer["uploadUrl"])


def post(url: str, data: bytes, name: str = "logo.png") -> Any:
    """The file as the console's form sends it (multipart/form-data, field ``file``)."""
    return Client().post(url, {"file": SimpleUploadedFile(name, data)})


def test_an_admin_uploads_replaces_and_removes_the_logo(
    merchant_api: Api,
    tenants: Tenants,
    cleanup: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    token = access_token(tenants.acme_admin)
    url = upload_url(merchant_api, token)
    assert url.startswith("/merchant-logo/")
    png = image_bytes((300, 120), mode="RGBA")
    response = post(url, png, "logo.jpg")  # the name says JPEG: the content decides
    assert response.status_code == 200, response.content
    assert response.json() == {"logo": "data:image/png;base64," + b64(png)}
    first = Merchant.objects.get(pk=tenants.acme.pk).logo.name
    assert first.startswith("logos/") and first.endswith(".png")
    assert default_storage.open(first).read() == png
    # A JPEG replaces it (the link serves again within its 15 minutes); the old file
    # goes once committed.
    jpeg = image_bytes((64, 2048), "JPEG")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(url, jpeg).status_code == 200
    second = Merchant.objects.get(pk=tenants.acme.pk).logo.name
    assert second.endswith(".jpg") and second != first
    assert not default_storage.exists(first)
    read = merchant_api.op("MerchantLogo", token=access_token(tenants.acme_viewer), merchant="acme")
    assert read["data"]["merchant"]["logo"] == "data:image/jpeg;base64," + b64(jpeg)
    with django_capture_on_commit_callbacks(execute=True):
        removed = merchant_api.op("MerchantLogoRemove", token=token, merchant="acme")
    assert removed["data"]["merchantLogoRemove"] == {"merchant": {"logo": None}, "errors": []}
    assert Merchant.objects.get(pk=tenants.acme.pk).logo.name == ""
    assert not default_storage.exists(second)


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"GIF89a" + b"\0" * 100, 400, "LOGO_NOT_AN_IMAGE"),
        (image_bytes((100, 100), "GIF"), 400, "LOGO_NOT_AN_IMAGE"),  # an image, not PNG/JPEG
        (image_bytes((100, 100))[:60], 400, "LOGO_NOT_AN_IMAGE"),  # a truncated PNG
        (image_bytes((63, 100)), 400, "LOGO_BAD_DIMENSIONS"),
        (image_bytes((2049, 100), "JPEG"), 400, "LOGO_BAD_DIMENSIONS"),
        (image_bytes((100, 100)) + b"\0" * (512 * 1024), 413, "LOGO_TOO_LARGE"),
    ],
)
def test_bad_logos_are_refused_with_a_code_and_nothing_is_stored(
    merchant_api: Api, tenants: Tenants, data: bytes, status: int, code: str
) -> None:
    response = post(upload_url(merchant_api, access_token(tenants.acme_owner)), data)
    assert response.status_code == status
    assert [e["code"] for e in response.json()["errors"]] == [code]
    assert Merchant.objects.get(pk=tenants.acme.pk).logo.name == ""


def test_a_forged_link_or_no_file_stores_nothing(merchant_api: Api, tenants: Tenants) -> None:
    url = upload_url(merchant_api, access_token(tenants.acme_owner))
    png = image_bytes((100, 100))
    assert post(url.replace("/file", "x/file"), png).status_code == 403
    forged = branding.UPLOAD_LINK.path(tenants.beta.schema_name).replace(":", ";", 1)
    assert post(forged, png).status_code == 403
    assert Client().post(url, {}).status_code == 400
    assert Merchant.objects.filter(logo__gt="").count() == 0


def test_the_content_decides_not_the_name() -> None:
    assert branding.check_logo(image_bytes((64, 64))) == "png"
    assert branding.check_logo(image_bytes((2048, 64), "JPEG")) == "jpg"


def test_only_owners_and_admins_change_the_logo(merchant_api: Api, tenants: Tenants) -> None:
    for user in (tenants.acme_viewer, tenants.acme_operator):
        for operation in ("MerchantLogoUpload", "MerchantLogoRemove"):
            result = merchant_api.op(operation, token=access_token(user), merchant="acme")
            answer = result["data"][operation[0].lower() + operation[1:]]
            assert [e["code"] for e in answer["errors"]] == ["PERMISSION_DENIED"], result
            assert answer.get("uploadUrl") is None
