"""The H5 client under /m/: its files as they are, every other path its index — only after WeCom sign-in — and a
page that says how to build it when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.pages.admin.conftest import sign_in_with_wecom


@pytest.fixture
def build(live_pages: LiveApp, tmp_path: Path) -> Path:
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="app"></div><script src="/m/js/app.1.js"></script>')
    (tmp_path / "js" / "app.1.js").write_text("console.log('销售导航仪')")
    live_pages.app.config["H5_CLIENT_DIR"] = str(tmp_path)
    return tmp_path


def test_a_client_route_sends_someone_not_signed_in_through_wecom_sign_in_and_back(live_pages, build, session):
    f.org(session)
    session.commit()
    client = live_pages.app.test_client()
    first = client.get("/m/pages/scan/index?scene=abc.def")
    assert first.status_code == 302
    assert first.headers["Location"] == "/auth/login?next=/m/pages/scan/index?scene%3Dabc.def"
    sign_in_with_wecom(client, "rep01")
    page = client.get("/m/pages/scan/index?scene=abc.def")
    assert page.status_code == 200 and b'<div id="app">' in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-cache"


def test_the_builds_files_are_served_without_sign_in_and_nothing_outside_it(live_pages, build):
    client = live_pages.app.test_client()
    script = client.get("/m/js/app.1.js")
    assert script.status_code == 200 and "销售导航仪" in script.get_data(as_text=True)
    assert client.get("/m/js/missing.js").status_code == 404
    assert client.get("/m/../salesnav/app.py").status_code == 404


def test_a_missing_build_says_how_to_make_it(live_pages, session, tmp_path):
    f.org(session)
    session.commit()
    live_pages.app.config["H5_CLIENT_DIR"] = str(tmp_path / "nothing")
    client = live_pages.app.test_client()
    sign_in_with_wecom(client, "rep01")
    page = client.get("/m/")
    assert page.status_code == 503 and "make client" in page.get_data(as_text=True)


def test_scripts_go_gzipped_to_a_browser_that_takes_it(live_pages, build):
    import gzip

    client = live_pages.app.test_client()
    packed = client.get("/m/js/app.1.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and packed.mimetype in (
        "text/javascript",
        "application/javascript",
    )
    assert gzip.decompress(packed.data).decode() == "console.log('销售导航仪')"
    assert packed.headers["Cache-Control"] == "public, max-age=31536000"
    plain = client.get("/m/js/app.1.js")
    assert "Content-Encoding" not in plain.headers and plain.get_data(as_text=True) == "console.log('销售导航仪')"
