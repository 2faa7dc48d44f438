"""The consumer web's pages, server side: status, language, embedded operations, messages.

The pages' behaviour in a browser is in ``tests/browser/test_consumer_web.py``; here
each page is checked without one: what it embeds (only operations kept in
``graphql/operations/consumer/``, a message for every error code, translated
sentences), that it costs no query, and that the zh-Hans catalogues are complete and
compiled (a fresh machine has no gettext, so the .mo files are committed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from api.errors import KNOWN_CODES
from frontend.consumer import views
from frontend.consumer.messages import NOT_FOR_CONSUMERS, error_messages
from frontend.pages import OPERATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = [
    ROOT / "frontend" / "consumer" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
    ROOT / "frontend" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
    ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
]
CJK = re.compile(r"[\u4e00-\u9fff]")

# Address → the operations its script may send.
PAGES: list[tuple[str, tuple[str, ...]]] = [
    ("/", views.WALLET_OPERATIONS),
    ("/scan", views.CAMERA_OPERATIONS),
    ("/mall", views.MALL_OPERATIONS),
    ("/mall/12", views.PRODUCT_OPERATIONS),
    ("/mall/12/redeem", views.REDEEM_OPERATIONS),
    ("/orders", views.ORDERS_OPERATIONS),
    ("/addresses", views.ADDRESSES_OPERATIONS),
    ("/my-data", views.MY_DATA_OPERATIONS),
]


def embedded(html: str, element_id: str) -> Any:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize(("path", "names"), PAGES)
def test_page_embeds_its_operations_messages_and_texts(
    client: Client, path: str, names: tuple[str, ...]
) -> None:
    # No database access is allowed here: the shells never query (their scripts fetch).
    response = client.get(path, {"lang": "en"})
    assert response.status_code == 200
    html = response.content.decode()
    operations = embedded(html, "page-operations")
    assert set(operations) == set(names)
    for name, document in operations.items():
        assert document == (OPERATIONS_DIR / "consumer" / f"{name}.graphql").read_text()
    assert embedded(html, "page-messages") == error_messages_in("en")
    assert all(embedded(html, "page-texts").values())
    assert embedded(html, "page-config")["api"] == "/graphql/"
    assert 'type="module"' in html and 'name="viewport"' in html
    assert '<html lang="en">' in html


def error_messages_in(language: str) -> dict[str, str]:
    with translation.override(language):
        return error_messages()


def test_every_error_code_of_the_api_has_a_human_message() -> None:
    messages = error_messages_in("en")
    undecided = KNOWN_CODES - set(messages) - NOT_FOR_CONSUMERS
    assert not undecided, (
        f"give these codes a message or list them in NOT_FOR_CONSUMERS: {undecided}"
    )
    assert not (set(messages) & NOT_FOR_CONSUMERS)
    assert {"NETWORK", "UNEXPECTED", "RATE_LIMITED_SOON"} <= set(messages)
    # The client fills "%(seconds)s" from the API's message.
    assert "%(seconds)s" in messages["RATE_LIMITED"]


def test_product_pages_build_the_global_id(client: Client) -> None:
    html = client.get("/mall/12/redeem").content.decode()
    config = embedded(html, "page-config")
    assert config["product"] == "UHJvZHVjdDoxMg=="  # Product:12
    assert config["orders"] == "/orders"
    assert client.get("/mall/abc").status_code == 404


def test_pages_are_chinese_by_default(client: Client, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"  # the production default (tests run in English)
    response = client.get("/")
    html = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html and "我的钱包" in html and "手机号码" in html
    assert embedded(html, "page-messages")["ALREADY_CLAIMED"] == "该积分码已被使用。"
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "My wallet" in english


def test_a_language_picked_with_lang_sticks(client: Client, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    response = client.get("/mall", {"lang": "en"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert '<html lang="en">' in client.get("/orders").content.decode()


def test_every_embedded_sentence_is_translated() -> None:
    """New sentences fail here until makemessages, a translation and compilemessages."""
    with translation.override("zh-hans"):
        sentences = {
            **error_messages(),
            **views.common_texts(),
            **views.scan_texts(),
            **views.questionnaire_texts(),
            **views.mall_texts(),
            **views.address_texts(),
        }
    untranslated = {key: text for key, text in sentences.items() if not CJK.search(text)}
    assert not untranslated


def _entries(po: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of a .po file, without a .po library."""
    found = []
    for block in re.split(r"\n\s*\n", po.read_text(encoding="utf-8")):
        parts: dict[str, list[str]] = {"msgid": [], "msgstr": []}
        current = None
        for line in block.splitlines():
            keyword = line.split(" ", 1)[0]
            if keyword in parts:
                current = keyword
                parts[current].append(json.loads(line.split(" ", 1)[1]))
            elif line.startswith('"') and current:
                parts[current].append(json.loads(line))
            elif line.startswith("msgid_plural") or line.startswith("msgstr["):
                current = None
        if parts["msgid"]:
            found.append(("".join(parts["msgid"]), "".join(parts["msgstr"]), "#, fuzzy" in block))
    return found


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: str(po.relative_to(ROOT).parts[0:2]))
def test_zh_hans_catalogue_is_complete_and_compiled(po: Path) -> None:
    entries = [entry for entry in _entries(po) if entry[0]]  # (the header has no msgid)
    assert entries
    assert not [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"compilemessages: {mo} is missing"
    # The compiled catalogue is the current one: Django translates every entry with it.
    with translation.override("zh-hans"):
        stale = [
            msgid
            for msgid, msgstr, _fuzzy in entries
            if "%" not in msgid
            and translation.gettext(msgid) not in {msgstr}
            # (a msgid in two catalogues takes the first one's translation)
            and not CJK.search(translation.gettext(msgid))
        ]
    assert not stale, f"run compilemessages: {stale[:5]}"


def test_a_text_has_one_translation_in_every_catalogue() -> None:
    """gettext is global: a msgid in two catalogues shows the first one's translation
    everywhere (the project's, then the apps' in INSTALLED_APPS order), so a different
    one in another catalogue is never shown and only misleads its reader."""
    console = ROOT / "frontend" / "console" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    seen: dict[str, dict[str, str]] = {}
    for po in [*CATALOGUES, console]:
        for msgid, msgstr, _fuzzy in _entries(po):
            if msgid:
                seen.setdefault(msgid, {})[str(po.relative_to(ROOT))] = msgstr
    differing = {msgid: where for msgid, where in seen.items() if len(set(where.values())) > 1}
    assert not differing
