"""The merchant console's pages: served in the visitor's language, embedding only real
operations, one message for every API error code, Chart.js only where there are charts."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from api.schema import merchant_schema
from frontend.console.messages import error_messages, texts
from frontend.console.views import SCREENS
from frontend.pages import OPERATIONS_DIR

URLS = {
    "console-sign-in": "sign_in",
    "console-sign-up": "sign_up",
    "console-dashboard": "dashboard",
    "console-campaigns": "campaigns",
    "console-campaign": "campaign",
    "console-questionnaire": "questionnaire",
    "console-questionnaire-new": "questionnaire",
    "console-results": "results",
    "console-goods": "goods",
    "console-ledger": "ledger",
    "console-earning": "earning",
    "console-staff": "staff",
    "console-webhooks": "webhooks",
    "console-api-keys": "api_keys",
    "console-audit": "audit",
}


def _embedded(html: str, element_id: str) -> object:
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, element_id
    return json.loads(found.group(1))


@pytest.mark.parametrize("url_name", sorted(URLS))
def test_screen_is_served_with_its_operations(client: Client, url_name: str) -> None:
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    screen = SCREENS[URLS[url_name]]
    operations = _embedded(html, "operations")
    assert isinstance(operations, dict)
    for name in screen.operations:
        assert operations[name] == (OPERATIONS_DIR / "merchant" / f"{name}.graphql").read_text()
    assert {"Me", "RefreshToken", "SignOut"} <= set(operations)
    config = _embedded(html, "console-config")
    assert isinstance(config, dict)
    assert config["api"] == "/merchant/graphql/"
    assert f"console/{screen.name}.js" in html
    assert ("chart.umd.min.js" in html) == screen.charts


def test_every_embedded_operation_is_a_merchant_operation_file() -> None:
    files = {path.stem for path in (OPERATIONS_DIR / "merchant").glob("*.graphql")}
    for screen in SCREENS.values():
        assert set(screen.operations) <= files, screen.name


def test_english_on_request(client: Client) -> None:
    response = client.get(reverse("console-sign-in"), {"lang": "en"})
    assert response["Content-Language"] == "en"
    assert "Sign in to the merchant console" in response.content.decode()
    # ?lang= also sets the language cookie (frontend.pages): a new visitor, no cookie.
    chinese = Client().get(reverse("console-sign-in"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert chinese["Content-Language"] == "zh-hans"
    assert "登录商户后台" in chinese.content.decode()


def test_every_error_code_of_the_merchant_api_has_a_message() -> None:
    codes = set(merchant_schema.graphql_schema.get_type("ErrorCode").values)
    messages = error_messages()
    assert codes - set(messages) == set()
    # Transport failures the client itself reports.
    assert {"NETWORK", "UNEXPECTED", "SERVICE_UNAVAILABLE", "RATE_LIMITED"} <= set(messages)


def test_chinese_texts_are_translated() -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        chinese_messages, chinese_texts = error_messages(), texts()
    with translation.override("en"):
        english_messages, english_texts = error_messages(), texts()
    same = [k for k in english_texts if chinese_texts[k] == english_texts[k] and k != "nps_score"]
    assert same == [], same
    same = [k for k in english_messages if chinese_messages[k] == english_messages[k]]
    assert same == [], same


def test_key_and_webhook_screens_offer_exactly_the_schemas_choices(client: Client) -> None:
    # The checkboxes are built from these lists: one per value of the schema's enums.
    schema = merchant_schema.graphql_schema
    expected = {
        "console-api-keys": ("scopes", "ApiKeyScope"),
        "console-webhooks": ("eventTypes", "WebhookEventType"),
    }
    for url_name, (key, enum) in expected.items():
        config = _embedded(client.get(reverse(url_name)).content.decode(), "console-config")
        assert isinstance(config, dict)
        values = [choice["value"] for choice in config[key]]
        assert sorted(values) == sorted(schema.get_type(enum).values), url_name
    # Each event's checkbox has its own words (a missing one showed as "event_POINTS_AWARDED").
    events = schema.get_type("WebhookEventType").values
    untitled = [value for value in events if f"event_{value}" not in texts()]
    assert untitled == []
    config = _embedded(client.get(reverse("console-audit")).content.decode(), "console-config")
    assert isinstance(config, dict)
    assert config["mutations"] == sorted(schema.mutation_type.fields)
    assert {"apiKeyCreate", "webhookRedeliver"} <= set(config["mutations"])


def test_links_to_screens_for_some_roles_only_are_marked_with_the_role(client: Client) -> None:
    # Hidden until the script knows the role (console.js applyRoles): the API lists keys to
    # admins and the audit log to owners, so nobody below is offered those screens.
    html = client.get(reverse("console-dashboard"), {"lang": "en"}).content.decode()
    for url_name, role in (("console-api-keys", "ADMIN"), ("console-audit", "OWNER")):
        assert re.search(rf'<li data-role="{role}" hidden><a href="{reverse(url_name)}"', html), (
            url_name
        )
    assert re.search(rf'<li><a href="{reverse("console-webhooks")}"', html)


@pytest.mark.django_db
def test_pages_need_no_database(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # The shells read no merchant data: the scripts ask the API, which checks roles.
    with django_assert_num_queries(0):
        assert client.get(reverse("console-dashboard")).status_code == 200
