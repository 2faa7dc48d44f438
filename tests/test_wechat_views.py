"""``/wechat/signin`` and ``/wechat/callback``: our side of WeChat's web authorisation.

The browser's trip to WeChat is made for real: the redirect goes to the fake WeChat
over HTTP (``requests``, as WeChat's browser would, naming its user), and the code it
gives back is exchanged by the callback with the fake, which enforces single use.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts import wechat
from campaigns.scan.codes import encode_merchant, new_code
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import oauth as fake_oauth
from frontend.consumer.wechat import STATE_COOKIE, local_next
from tests.fixtures.wechat import PLATFORM_APP_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(fake_wechat: FakeWeChat) -> FakeWeChat:
    # The test client's host is our site's here: registered as WeChat's
    # web-authorisation domain, as the real site's is.
    fake_wechat.apps[PLATFORM_APP_ID].redirect_domains.add("testserver")
    return fake_wechat


def start(client: Client, next_path: str) -> tuple[str, str]:
    """Open /wechat/signin: where it sends the browser, and the state it chose."""
    response = client.get("/wechat/signin", {"next": next_path})
    assert response.status_code == 302
    location = response["Location"]
    return location, parse_qs(urlsplit(location).query)["state"][0]


def at_wechat(location: str, user: str = "alice") -> str:
    """WeChat's browser following our redirect: the callback address it comes back to."""
    answer = requests.get(
        location.split("#")[0], params={"user": user}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"].replace("http://testserver", "")


def exchanges(fake: FakeWeChat) -> int:
    return sum(1 for _method, path in fake.calls if path == "sns/oauth2/access_token")


def error_code(response: Any) -> str:
    found = re.search(rb'data-code="([A-Z_]+)"', response.content)
    assert found, response.content
    return found[1].decode()


def test_signin_binds_a_random_state_to_this_browser_and_the_callback_hands_over_a_ticket(
    fake: FakeWeChat, client: Client
) -> None:
    location, state = start(client, "/s/ABC?from=poster")
    assert location.startswith(f"{fake.url}/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["scope"] == ["snsapi_base"]  # silent
    assert query["redirect_uri"] == ["http://testserver/wechat/callback"]
    assert re.fullmatch(r"[0-9a-f]{32}", state)  # WeChat allows [a-zA-Z0-9], up to 128
    cookie = client.cookies[STATE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert 0 < int(cookie["max-age"]) <= 600
    assert start(client, "/s/ABC")[1] != state  # a new one each time

    location, state = start(client, "/s/ABC?from=poster")
    response = client.get(at_wechat(location))
    assert response.status_code == 302
    path, ticket = response["Location"].split("#wx=")
    assert path == "/s/ABC?from=poster"
    assert wechat.read_ticket(ticket).openid == fake_oauth.openid("alice", PLATFORM_APP_ID)
    assert client.cookies[STATE_COOKIE].value == ""  # used once, then gone


def test_a_forged_or_missing_state_is_refused_before_the_code_is_spent(
    fake: FakeWeChat, client: Client
) -> None:
    location, state = start(client, "/s/ABC")
    callback = at_wechat(location)
    forged = callback.replace(f"state={state}", "state=0123456789abcdef0123456789abcdef")
    response = client.get(forged)
    assert response.status_code == 400
    assert error_code(response) == "WECHAT_STATE_INVALID"
    assert b"/s/ABC#phone" in response.content  # phone sign-in offered
    # Another browser (no cookie) bringing this browser's callback: refused too.
    stranger = Client()
    response = stranger.get(callback)
    assert response.status_code == 400
    assert error_code(response) == "WECHAT_STATE_INVALID"
    assert exchanges(fake) == 0


def test_a_tampered_cookie_is_refused(fake: FakeWeChat, client: Client) -> None:
    location, state = start(client, "/s/ABC")
    callback = at_wechat(location)
    value = json.dumps({"s": state, "n": "/"})
    client.cookies[STATE_COOKIE] = f"{value}:forgedsignature"
    response = client.get(callback)
    assert response.status_code == 400
    assert error_code(response) == "WECHAT_STATE_INVALID"


def test_a_replayed_code_is_refused_with_a_way_forward(fake: FakeWeChat, client: Client) -> None:
    location, _state = start(client, "/s/ABC")
    cookie = client.cookies[STATE_COOKIE].value
    callback = at_wechat(location)
    assert client.get(callback).status_code == 302
    # The same callback again, cookie and all (the back button, or a copied address):
    # WeChat answers 40163 for the spent code.
    client.cookies[STATE_COOKIE] = cookie
    response = client.get(callback)
    assert response.status_code == 400
    assert error_code(response) == "WECHAT_CODE_INVALID"
    assert b"/wechat/signin?next=/s/ABC" in response.content  # start again
    assert b"/s/ABC#phone" in response.content
    assert exchanges(fake) == 2


@pytest.mark.parametrize(
    "given",
    [
        "https://evil.example/s/ABC",
        "//evil.example/s/ABC",
        "/\\evil.example/s/ABC",
        "javascript:alert(1)",
        "s/ABC",
        "",
        "/s/ABC\n",
    ],
)
def test_next_is_only_ever_a_path_on_this_site(
    fake: FakeWeChat, client: Client, given: str
) -> None:
    assert local_next(given) == "/"
    location, _state = start(client, given)
    response = client.get(at_wechat(location))
    assert response["Location"].split("#")[0] == "/"


def test_next_keeps_its_path_and_query_but_not_its_fragment() -> None:
    assert local_next("/q/abc?lang=en#top") == "/q/abc?lang=en"


def test_wechat_unreachable_is_a_coded_page_and_phone_sign_in_still_works(
    fake: FakeWeChat, client: Client, settings: Any
) -> None:
    location, _state = start(client, "/s/ABC")
    callback = at_wechat(location)
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = client.get(callback)
    assert response.status_code == 503
    assert error_code(response) == "WECHAT_UNAVAILABLE"
    assert b"/s/ABC#phone" in response.content
    # The phone's way in does not depend on WeChat.
    answer = client.post(
        "/graphql/",
        {"query": 'mutation { requestSignInCode(phone: "+8613912345678") { errors { code } } }'},
        content_type="application/json",
    )
    assert answer.json()["data"]["requestSignInCode"]["errors"] == []


def test_without_a_service_account_signin_goes_back_to_phone_sign_in(
    client: Client, settings: Any
) -> None:
    settings.WECHAT_APP_ID = ""
    response = client.get("/wechat/signin", {"next": "/s/ABC"})
    assert response.status_code == 302
    assert response["Location"] == "/s/ABC#phone"


def test_callbacks_are_rate_limited_per_address(
    fake: FakeWeChat, client: Client, settings: Any
) -> None:
    settings.WECHAT_SIGNINS_PER_IP_PER_HOUR = 1
    location, _state = start(client, "/")
    assert client.get(at_wechat(location)).status_code == 302
    location, _state = start(client, "/")
    response = client.get(at_wechat(location))
    assert response.status_code == 429
    assert error_code(response) == "RATE_LIMITED"


def test_the_error_page_and_the_documents_are_chinese_by_default(
    fake: FakeWeChat, client: Client, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "zh-hans"  # the production default (tests run in English)
    response = client.get("/wechat/callback?code=x&state=y")
    assert response["Content-Language"] == "zh-hans"
    assert "微信" in response.content.decode()
    for path, title in (("/terms", "用户协议"), ("/privacy", "隐私政策")):
        page = client.get(path)
        assert page.status_code == 200
        assert title in page.content.decode()
    assert "User agreement" in client.get("/terms?lang=en").content.decode()


@pytest.mark.parametrize("path", [f"/s/{new_code(encode_merchant(1))}", "/"])
def test_pages_a_scan_opens_carry_the_wechat_address_only_when_configured(
    client: Client, settings: Any, path: str
) -> None:
    def page_config() -> dict[str, Any]:
        html = client.get(path).content.decode()
        assert "{#" not in html and "#}" not in html  # a template comment left as text
        found = re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html)
        assert found, html
        return dict(json.loads(found[1]))

    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wx1", "secret"
    assert page_config()["wechatSignin"] == "/wechat/signin"
    settings.WECHAT_APP_ID = ""
    assert "wechatSignin" not in page_config()
