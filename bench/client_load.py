"""Benchmark: how fast the rep's H5 client (/m/) opens on a mid-range phone, against the app's bare HTML page.

    .venv/bin/python bench/client_load.py [--runs 5] [--build miniprogram/dist/h5]

Reported:
- the H5 entry bundle: the scripts and stylesheets index.html loads before anything else, each gzipped (-9)
  as a server or CDN would send them; target ≤ 300 KB of entry JS;
- first contentful paint (FCP) of /m/pages/today/index, and of the home page `/` (server-rendered HTML, our own
  CSS, no framework) in the same run and browser, under Chromium's throttling of a mid-range phone on a slow
  4G network (Lighthouse's mobile profile: CPU 4× slower, 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s
  up), with the browser cache disabled; target FCP ≤ 1.5 s;
- for the client also the time until the app itself has drawn 今日's first card (signed in, token exchanged,
  /api/v1/today answered): FCP alone would count the boot text in index.html.

The product runs as `salesnav serve` runs it (SQLite in a temporary directory, the demo company, its WeCom
emulator) on loopback; the phone signs in through the emulator's member pick, as WeCom OAuth would.
Needs the H5 build (`make client-h5`) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import logging
import re
import socket
import statistics
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from salesnav.app import create_app
from salesnav.bot.emulator import PREFIX
from salesnav.demo import seed as demo
from salesnav.handlers.stages import ensure_default_stages
from salesnav.models import migrate
from salesnav.models import session as db
from salesnav.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENTRY_JS_TARGET = 300 * 1024
FCP_TARGET_MS = 1500
CPU_SLOWDOWN = 4
NETWORK = {  # slow 4G, as Lighthouse's mobile profile
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}


def entry_bundle(build: Path) -> dict[str, int]:
    """Gzipped size of each script and stylesheet index.html loads up front."""
    index = (build / "index.html").read_text(encoding="utf-8")
    assets = re.findall(r'(?:src|href)="/m/([^"]+\.(?:js|css))"', index)
    return {name: len(gzip.compress((build / name).read_bytes(), compresslevel=9)) for name in assets}


def serve(data_dir: Path, build: Path) -> tuple[str, threading.Thread, object]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings.from_env({"SALESNAV_DATA_DIR": str(data_dir), "PORT": str(sock.getsockname()[1])})
    settings = dataclasses.replace(
        settings, public_url=base, wecom=dataclasses.replace(settings.wecom, api_base=base + PREFIX)
    )
    migrate.upgrade(settings.database_url)
    app = create_app(settings)
    app.config["H5_CLIENT_DIR"] = str(build)
    demo.seed(attachments_root=settings.attachments_dir)
    with db.transaction() as s:
        ensure_default_stages(s)
    server = make_server("127.0.0.1", 0, app, threaded=True, fd=sock.fileno())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return base, thread, server


def measure(browser: Browser, base: str, path: str, ready: str | None, cookies: list) -> tuple[float, float | None]:
    """(FCP, time until `ready` is drawn) in ms, on a fresh throttled page with the cache disabled."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    context.add_cookies(cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.goto(base + path, wait_until="load")
    drawn = None
    if ready:
        page.wait_for_selector(ready, timeout=60_000)
        drawn = page.evaluate("performance.now()")
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0", timeout=60_000)
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    context.close()
    return fcp, drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", type=Path, default=PROJECT_ROOT / "miniprogram" / "dist" / "h5")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not (args.build / "index.html").is_file():
        raise SystemExit(f"no H5 build at {args.build}: run `make client-h5` first")

    sizes = entry_bundle(args.build)
    js = sum(v for k, v in sizes.items() if k.endswith(".js"))
    print("H5 entry bundle (gzip -9):")
    for name, size in sizes.items():
        print(f"  {name:32} {size / 1024:7.1f} KiB")
    print(f"  entry JS total                   {js / 1024:7.1f} KiB  (target ≤ {ENTRY_JS_TARGET // 1024} KiB)")

    with tempfile.TemporaryDirectory() as tmp:
        base, _thread, server = serve(Path(tmp), args.build)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            )
            signer = browser.new_context()
            page = signer.new_page()
            page.goto(base + "/m/")
            page.locator('[data-userid="rep01"]').first.click()
            page.wait_for_url(re.compile(r"/m/pages/today/index"))
            cookies = signer.cookies()
            signer.close()

            results: dict[str, list[tuple[float, float | None]]] = {"bare": [], "client": []}
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                results["bare"].append(measure(browser, base, "/", None, cookies))
                results["client"].append(measure(browser, base, "/m/pages/today/index", ".todo, .card", cookies))
            browser.close()
        server.shutdown()  # type: ignore[attr-defined]

    print(f"\nThrottled as a mid-range phone (CPU {CPU_SLOWDOWN}× slower, slow 4G), cache off, {args.runs} runs:")
    bare = statistics.median(r[0] for r in results["bare"])
    client = statistics.median(r[0] for r in results["client"])
    drawn = statistics.median(r[1] or 0 for r in results["client"])
    print(f"  bare HTML page /              FCP median {bare:7.0f} ms")
    print(f"  H5 client 今日                FCP median {client:7.0f} ms  (target ≤ {FCP_TARGET_MS} ms)")
    print(f"  H5 client 今日 first card drawn   median {drawn:7.0f} ms")
    ok = js <= ENTRY_JS_TARGET and client <= FCP_TARGET_MS
    print("\nwithin targets" if ok else "\nOVER TARGET")


if __name__ == "__main__":
    main()
