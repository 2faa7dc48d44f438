"""The README's first command: the demo starts an embedded PostgreSQL and serves both APIs.

Runs ``python -m devtools.demo`` as a newcomer would (no DATABASE_URL, no Redis), in
its own data directory and port, and talks to it over HTTP.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.processes import demo_env, free_port, running, wait_for_http

ROOT = Path(__file__).resolve().parent.parent


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post(url: str, query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    port = free_port()
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "devtools.demo", "--port", str(port)]
    command += ["--pgdata", str(tmp_path / "pg")]
    # In a session of its own: if it does not stop in time, its PostgreSQL is killed too.
    with running(command, env=demo_env(), log=log, own_session=True, stop_timeout=30) as process:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base + "/", process, log, timeout=120)
        yield base, log, tmp_path / "pg"


def test_demo_serves_both_apis_on_an_embedded_postgres(demo: tuple[str, Path, Path]) -> None:
    base, log_path, pgdata = demo
    output = log_path.read_text()
    assert "/merchant/graphql/" in output and "owner@demo.test" in output
    assert "/s/" in output  # scan pages of the seeded batch
    assert f"{base}/scan" in output and f"{base}/mall" in output  # the consumer web
    with urllib.request.urlopen(base + "/mall", timeout=10) as response:
        mall = response.read().decode()
    # Served as is, with no front-end build: the shell, its module and its operations.
    assert 'id="page-operations"' in mall
    # As production serves them: hashed names, collected at start (decision 0236).
    assert re.search(r"/static/consumer/mall\.[0-9a-f]{12}\.js", mall), mall
    with urllib.request.urlopen(base + "/static/consumer/mall.js", timeout=10) as response:
        assert b"import" in response.read()
    assert f"{base}/console/" in output  # the merchant console, with the owner's credentials
    # Inside WeChat the scan pages sign in through the demo's fake WeChat (in the demo's
    # process): /wechat/signin sends the browser there.
    fake = re.search(r"a local fake WeChat answers at (http://\S+) ", output)
    assert fake, output
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(base + "/wechat/signin?next=/", timeout=10)
    assert redirect.value.code == 302
    assert redirect.value.headers["Location"].startswith(fake[1] + "/connect/oauth2/authorize?")
    with urllib.request.urlopen(base + "/console/sign-in/") as page:
        assert page.status == 200
    with urllib.request.urlopen(base + "/static/console/console.js") as script:
        assert b"loyalty.console" in script.read()

    signed_in = _post(
        base + "/merchant/graphql/",
        'mutation { signIn(email: "owner@demo.test", password: "demo-owner-password")'
        " { tokens { accessToken } errors { code } } }",
    )["data"]["signIn"]
    assert signed_in["errors"] == []
    token = signed_in["tokens"]["accessToken"]
    merchant = _post(
        base + "/merchant/graphql/",
        "{ merchant { slug } budget { available } }",
        {"Authorization": f"Bearer {token}", "X-Merchant": "demo-tea"},
    )["data"]
    # 1,000,000 funded, 200 codes x 10 points reserved for the demo batch.
    assert merchant == {"merchant": {"slug": "demo-tea"}, "budget": {"available": 998_000}}

    # The mall is not empty: a dozen products with pictures, goods and e-coupons, served
    # through the consumer API as the mall page asks for them.
    products = _post(
        base + "/graphql/",
        "{ products(first: 50) { edges { node { title kind stock imageUrl } } } }",
    )["data"]["products"]["edges"]
    assert len(products) >= 12, products
    assert {edge["node"]["kind"] for edge in products} == {"PHYSICAL", "COUPON"}
    assert all(edge["node"]["stock"] > 0 for edge in products)
    with urllib.request.urlopen(products[0]["node"]["imageUrl"], timeout=10) as picture:
        assert picture.read().startswith(b"<svg")
    assert "Mall: 12 products in 4 categories" in output and "analytics rolled up" in output

    # The seeded sign-up: its applicant signs in, the application answers who and where only.
    assert "demo-bakery" in output and "/admin/tenants/merchantapplication/" in output
    applicant = _post(
        base + "/merchant/graphql/",
        'mutation { signIn(email: "applicant@demo.test", password: "demo-applicant-password")'
        " { tokens { accessToken } errors { code } } }",
    )["data"]["signIn"]["tokens"]["accessToken"]
    application = _post(
        base + "/merchant/graphql/",
        "{ merchant { slug status } }",
        {"Authorization": f"Bearer {applicant}", "X-Merchant": "demo-bakery"},
    )["data"]
    assert application == {"merchant": {"slug": "demo-bakery", "status": "PENDING"}}

    # A second run (joining the running database) migrates every merchant schema with
    # that application among the merchants: it has no schema, and is skipped.
    again = subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--no-serve", "--pgdata", str(pgdata)],
        cwd=ROOT,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "data ready" in again.stdout and "(as first created)" in again.stdout

    sent = _post(
        base + "/graphql/",
        'mutation { requestSignInCode(phone: "+8613800138000") { expiresIn errors { code } } }',
    )["data"]["requestSignInCode"]
    assert sent == {"expiresIn": 300, "errors": []}
    # The console SMS backend prints the code where a person running the demo sees it.
    deadline = time.monotonic() + 10
    while "[sms to +8613800138000]" not in log_path.read_text():
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)


@pytest.mark.django_db
def test_the_demo_mall_is_seeded_once_and_the_rollup_says_when(client: Any) -> None:
    """Run twice, ``seed_mall`` makes 4 categories and 12 listed products once; each
    coupon product has its pool (stock = unused codes); every picture is a static file
    the server answers; the rollup leaves the time it ran. Fails if a re-run duplicates
    a product or a pool, or if a picture's path names no file."""
    from analytics.models import RollupState
    from devtools import demo
    from redemption.models import Coupon, Product, ProductKind

    assert demo.seed_mall() == {"categories": 4, "products": 12}
    assert demo.seed_mall() == {"categories": 4, "products": 12}
    products = Product.objects.filter(category__slug__startswith="demo-")
    assert products.count() == 12
    assert {p.kind for p in products} == {ProductKind.PHYSICAL, ProductKind.COUPON}
    for product in products:
        if product.kind == ProductKind.COUPON:
            pool = Coupon.objects.filter(product=product, order=None).count()
            assert pool == product.stock == demo.COUPONS_PER_PRODUCT
        picture = client.get(urlsplit(product.image_url).path)
        assert picture.status_code == 200, product.image_url
        assert b"".join(picture.streaming_content).startswith(b"<svg")

    demo.run_rollup()
    state = RollupState.objects.get()
    assert state.updated_at is not None
