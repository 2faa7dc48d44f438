"""The scan page's first screen on a weak phone inside WeChat: bytes and time.

What a consumer meets after scanning a printed code in WeChat's browser, with nothing
cached: ``/s/<code>`` loads, goes through WeChat's silent sign-in (the demo's fake
WeChat, reached over the same throttled network) and comes back with the one tap
"同意并领取". Measured until that button shows.

The server is the demo as the README starts it (``python -m devtools.demo``: gunicorn in
the production configuration, static files hashed and compressed) on a database of this
script's own. The browser is Debian's Chromium driven by Playwright, with the phone
profile set through the Chrome DevTools Protocol: CPU slowed 4x, 1.6 Mbps down,
750 kbps up, 150 ms round trips (Lighthouse's "slow 4G" mobile profile), a 360x640
screen, a WeChat user agent, zh-CN. Each run is a fresh browser context (a cold cache).

    uv run python bench/first_screen.py [--runs 3] [--keep]
        [--database postgres://postgres@127.0.0.1:5432/loyalty_bench_first_screen]

Printed, never asserted: the bytes on the wire (encoded body and headers, as the
DevTools network panel's "transferred") and the request count of the whole journey, the
bytes of the scan page's own first load, and the time to the button; then each
resource of the first run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 10; V2031A Build/QP1A.190711.020; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 "
    "XWEB/5061 MMWEBSDK/20230303 MMWEBID/1234 MicroMessenger/8.0.34.2340(0x28002237) "
    "WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64"
)
CPU_SLOWDOWN = 4
DOWN_BITS = 1_600_000
UP_BITS = 750_000
RTT_MS = 150


@dataclass
class Run:
    seconds: float
    bytes_total: int
    requests: int
    bytes_first_load: int
    resources: list[tuple[str, int]] = field(default_factory=list)


def start_demo(database: str, port: int, log: Path) -> subprocess.Popen[Any]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(DATABASE_URL=database, PYTHONUNBUFFERED="1")
    env.pop("WECHAT_APP_ID", None)  # the demo's fake WeChat, in its process
    command = [sys.executable, "-m", "devtools.demo", "--port", str(port)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def wait_for_scan_url(process: subprocess.Popen[Any], log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = re.search(r"(http://127\.0\.0\.1:\d+/s/\S+)", text)
        if found and "Press Ctrl-C" in text:
            return found[1]
        if process.poll() is not None:
            raise SystemExit(f"the demo stopped:\n{text}")
        time.sleep(0.5)
    raise SystemExit(f"the demo did not start in {timeout:.0f} s:\n{log.read_text()}")


def measure(browser: Any, url: str) -> Run:
    context = browser.new_context(
        user_agent=WECHAT_UA,
        viewport={"width": 360, "height": 640},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": RTT_MS,
            "downloadThroughput": DOWN_BITS / 8,
            "uploadThroughput": UP_BITS / 8,
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    # Playwright's own record of each request (redirects included, which the CDP
    # session of the page misses when the navigation changes process): the encoded body
    # and the headers, as the DevTools network panel's "transferred".
    finished: list[tuple[str, int]] = []

    def done(request: Any) -> None:
        sizes = request.sizes()
        finished.append((request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"]))

    context.on("requestfinished", done)
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.get_by_role("button", name="同意并领取").wait_for(state="visible", timeout=120_000)
    seconds = time.perf_counter() - started
    # The scan page's own first load: everything before it leaves for WeChat's sign-in.
    first_load = 0
    for resource, size in finished:
        if "/wechat/signin" in resource or "/wechat/callback" in resource:
            break
        first_load += size
    context.close()
    return Run(
        seconds=seconds,
        bytes_total=sum(size for _, size in finished),
        requests=len(finished),
        bytes_first_load=first_load,
        resources=finished,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/loyalty_bench_first_screen",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    harness.recreate_database(args.database)
    port = harness.free_port()
    log = Path(tempfile.mkdtemp(prefix="first-screen-")) / "demo.log"
    demo = start_demo(args.database, port, log)
    try:
        url = wait_for_scan_url(demo, log, timeout=300)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                runs = [measure(browser, url) for _ in range(args.runs)]
            finally:
                browser.close()
    finally:
        demo.terminate()
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
        if not args.keep:
            harness.drop_database(args.database)

    print(f"\n`/s/<code>` in WeChat, cold cache, {CPU_SLOWDOWN}x CPU, "
          f"{DOWN_BITS / 1e6:.1f} Mbps down, {RTT_MS} ms RTT; {args.runs} runs\n")  # fmt: skip
    print("| run | to 同意并领取 (s) | bytes, journey | requests | bytes, scan page's first load |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for number, run in enumerate(runs, start=1):
        print(f"| {number} | {run.seconds:.2f} | {run.bytes_total:,} | {run.requests} | "
              f"{run.bytes_first_load:,} |")  # fmt: skip
    print(f"| median | {statistics.median(r.seconds for r in runs):.2f} | "
          f"{statistics.median(r.bytes_total for r in runs):,.0f} | | "
          f"{statistics.median(r.bytes_first_load for r in runs):,.0f} |")  # fmt: skip
    print("\nFirst run, each response (encoded bytes, headers included):\n")
    base = url.split("/s/")[0]
    for resource, size in runs[0].resources:
        print(f"- {size:>7,}  {resource.replace(base, '')[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
