"""``api.cookies``: the bearer-token APIs skip the admin's cookie middleware; and
``core.deadline``: a request that waited past the deadline is refused first."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from api.cookies import AuthenticationMiddleware, MessageMiddleware, SessionMiddleware
from core.deadline import ACCEPTED_AT, QueueDeadlineMiddleware

MIDDLEWARE = [SessionMiddleware, AuthenticationMiddleware, MessageMiddleware]


def _seen(path: str) -> HttpRequest:
    """The request as the view gets it after the three middleware."""
    reached: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        reached.append(request)
        return HttpResponse()

    handler = view
    for middleware in reversed(MIDDLEWARE):
        handler = middleware(handler)
    handler(RequestFactory().post(path))
    return reached[0]


@pytest.mark.parametrize("api", ["consumer-api", "merchant-api"])
def test_the_apis_get_no_session_user_or_messages(api: str) -> None:
    request = _seen(reverse(api))
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")


@pytest.mark.django_db
def test_pages_still_get_them() -> None:
    request = _seen(reverse("admin:index"))
    assert hasattr(request, "session") and hasattr(request, "_messages")
    assert isinstance(request.user, AnonymousUser)


def test_settings_use_them_and_the_admins_checks_accept_them() -> None:
    for middleware in MIDDLEWARE:
        assert f"{middleware.__module__}.{middleware.__name__}" in settings.MIDDLEWARE
    call_command("check", "--fail-level", "ERROR")  # admin.E408 to E410 look for these


@pytest.mark.django_db
def test_an_anonymous_api_request_still_answers_as_anonymous(client: Client) -> None:
    response = client.post(
        reverse("consumer-api"),
        {"query": "{ me { id } }"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}
    assert "sessionid" not in response.cookies and "messages" not in response.cookies


@pytest.mark.django_db
@pytest.mark.parametrize(("accept", "language"), [("en", "en"), ("zh-CN,zh;q=0.9", "zh-hans")])
def test_an_api_answer_names_its_language_and_varies_by_it(
    client: Client, accept: str, language: str
) -> None:
    # api.cookies.LocaleMiddleware answers the APIs without Django's path lookups: the
    # headers must stay those Django's middleware gives an answer without a language
    # in its path.
    response = client.post(
        reverse("consumer-api"),
        {"query": "{ me { id } }"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=accept,
    )
    assert response["Content-Language"] == language
    assert "Accept-Language" in [v.strip() for v in response["Vary"].split(",")]


# --- The queue deadline ---------------------------------------------------------------


def _through_deadline(**meta: object) -> tuple[HttpResponse, list[HttpRequest]]:
    served: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        served.append(request)
        return HttpResponse("served")

    request = RequestFactory().post("/graphql/", **meta)  # type: ignore[arg-type]  # extra WSGI environ keys, which the stubs type as the post's options
    return QueueDeadlineMiddleware(view)(request), served


def test_a_request_past_the_deadline_is_refused_with_retry_after() -> None:
    waited = settings.REQUEST_QUEUE_DEADLINE_SECONDS + 1
    response, served = _through_deadline(**{ACCEPTED_AT: time.time() - waited})
    assert served == []
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = json.loads(response.content)
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_request_within_the_deadline_is_served() -> None:
    waited = settings.REQUEST_QUEUE_DEADLINE_SECONDS - 1
    response, served = _through_deadline(**{ACCEPTED_AT: time.time() - waited})
    assert response.content == b"served" and len(served) == 1


def test_without_the_servers_stamp_nothing_is_refused() -> None:
    # A client's header cannot stand in for the stamp: headers arrive as HTTP_* keys.
    response, served = _through_deadline(HTTP_LOYALTY_ACCEPTED_AT="0")
    assert response.content == b"served" and len(served) == 1


def test_the_deadline_is_the_first_middleware() -> None:
    assert settings.MIDDLEWARE[0] == "core.deadline.QueueDeadlineMiddleware"
