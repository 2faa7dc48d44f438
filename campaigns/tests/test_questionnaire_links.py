"""A questionnaire's public link names a random key, not its sequential id (decision
0323): the consumer page, the consumer API and submissions find it by the key; a link
by id opens only a campaign that had that link before keys existed."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Campaign, CampaignKind
from campaigns.models.campaigns import LINK_KEY_WIDTH, new_link_key
from campaigns.questionnaires.links import parse_link, questionnaire_link
from campaigns.scan.codes import encode_merchant
from campaigns.tests.test_questionnaire_api import GOOD, acme, campaign_of, create, submit
from tests.fixtures.api import Api
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

__all__ = ["acme"]  # the fixture, imported to be used here


def numeric(t: Tenants, campaign: Campaign) -> str:
    """The link by sequential id that links were before keys."""
    return f"{encode_merchant(t.acme.pk)}-{campaign.pk}"


def test_the_link_names_a_random_key_not_the_id(
    merchant_api: Api, consumer_api: Api, acme: Tenants, client: Client
) -> None:
    first = create(merchant_api, acme)
    second = create(merchant_api, acme)
    campaign = campaign_of(acme, second)
    merchant_id, key = parse_link(second["link"]) or (0, "")
    assert merchant_id == acme.acme.pk and key == campaign.link_key
    assert len(key) == LINK_KEY_WIDTH and not key.isdigit()
    assert first["link"] != second["link"]
    # The link works: the page, the form and the share URL.
    assert client.get(f"/q/{second['link']}").status_code == 200
    form = consumer_api.op("Questionnaire", {"link": second["link"]})["data"]["questionnaire"]
    assert form["campaignName"] == "Taste survey" and form["link"] == second["link"]
    assert second["shareUrl"].endswith(f"/q/{second['link']}")
    # Counting ids from one's own link leads nowhere: the page, the form, a submission.
    for guess in (numeric(acme, campaign), numeric(acme, campaign_of(acme, first))):
        assert client.get(f"/q/{guess}").status_code == 404
        answer = consumer_api.op("Questionnaire", {"link": guess})
        assert answer["data"]["questionnaire"] is None
        assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_key_opens_nothing_under_another_merchant(
    merchant_api: Api, consumer_api: Api, acme: Tenants, client: Client
) -> None:
    q = create(merchant_api, acme)
    key = campaign_of(acme, q).link_key
    elsewhere = questionnaire_link(acme.beta.pk, key)
    assert client.get(f"/q/{elsewhere}").status_code == 404
    # Nor does another merchant's sequential link find one of acme's.
    assert client.get(f"/q/{encode_merchant(acme.beta.pk)}-1").status_code == 404
    answer = consumer_api.op("Questionnaire", {"link": elsewhere})
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_submission_by_key_pays_and_by_id_is_refused(
    merchant_api: Api, consumer_api: Api, acme: Tenants, new_phone: Callable[[], str]
) -> None:
    q = create(merchant_api, acme)
    consumer = User.objects.get_or_create_consumer(new_phone())[0]
    by_id = submit(consumer_api, consumer, numeric(acme, campaign_of(acme, q)), GOOD, "k0")
    assert by_id["response"] is None
    assert [e["code"] for e in by_id["errors"]] == ["NOT_FOUND"]
    paid = submit(consumer_api, consumer, q["link"], GOOD)
    assert paid["errors"] == [] and paid["response"]["points"] == 20
    # Again (the key remembered by the process): the same answer, replayed.
    again = submit(consumer_api, consumer, q["link"], GOOD)
    assert again["replayed"] is True


def test_an_old_numeric_link_still_opens_its_questionnaire(
    merchant_api: Api, consumer_api: Api, acme: Tenants, client: Client
) -> None:
    q = create(merchant_api, acme)
    campaign = campaign_of(acme, q)
    with tenant_context(acme.acme):
        Campaign.objects.filter(pk=campaign.pk).update(numeric_link=True)
    old = numeric(acme, campaign)
    page = client.get(f"/q/{old}")
    assert page.status_code == 200
    # The page goes on by the key: what it shares next is the new link.
    assert json.dumps(q["link"]) in page.content.decode()
    form = consumer_api.op("Questionnaire", {"link": old})["data"]["questionnaire"]
    assert form["link"] == q["link"]


def test_the_migration_gives_every_row_a_key_and_old_links_to_those_that_had_one(
    merchant_api: Api, acme: Tenants
) -> None:
    survey = campaign_of(acme, create(merchant_api, acme))
    migration = importlib.import_module("campaigns.migrations.0021_campaign_link_keys")
    with tenant_context(acme.acme):
        scan = Campaign.objects.create(kind=CampaignKind.SCAN, name="Caps")
        before = dict(Campaign.objects.values_list("pk", "link_key"))
        migration.fill_keys(apps, connection.schema_editor())
        after = {c.pk: c for c in Campaign.objects.all()}
    assert len({c.link_key for c in after.values()}) == len(after)
    assert all(after[pk].link_key != key for pk, key in before.items())
    assert after[survey.pk].numeric_link is True
    assert after[scan.pk].numeric_link is False


def test_keys_are_never_all_digits() -> None:
    keys = {new_link_key() for _i in range(2000)}
    assert len(keys) == 2000 and not any(k.isdigit() for k in keys)
