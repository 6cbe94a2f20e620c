"""The documentation site builds offline with warnings as errors, and a page renders in
headless Chromium.

The build skips notebook execution (``NEUROLOOM_DOCS_EXECUTE=off``; nbmake executes the
notebooks in ``make test``, ``make docs`` executes them for the site).  No data is read
beyond what autodoc imports.  Chromium: ``apt-get install -y chromium``; the browser check
skips without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "NEUROLOOM_DOCS_EXECUTE": "off"}
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
        capture_output=True, text=True, env=env, cwd=ROOT)
    assert res.returncode == 0, f"sphinx-build failed (warnings are errors):\n{res.stderr}"
    return out / "html"


def test_site_has_every_section(site):
    for page in ("index.html", "guide/index.html", "examples/index.html", "api/index.html",
                 "api/neurodata.html", "format.html", "notebooks/01_recording_format.html"):
        assert (site / page).is_file(), page
    home = (site / "index.html").read_text()
    assert "Quick start" in home and 'href="format.html' in home  # README, links rewritten
    guide = (site / "guide/index.html").read_text()
    for page in ROOT.joinpath("docs").glob("*.md"):
        if page.stem != "index":
            assert f'href="../{page.stem}.html"' in guide, page.name
    api = (site / "api/neurodata.html").read_text()
    for name in ("neurodata.load", "neurodata.Recording", "neurodata.naming.metadata_from_name"):
        assert f'id="{name}"' in api, name


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser",
                                               "google-chrome")) if p), None)


def test_page_renders_in_headless_chromium(site, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on PATH (apt-get install -y chromium)")
    flags = [browser, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (site / "api" / "neurodata.html").as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120).stdout
    # the DOM after the theme's scripts ran: title, navigation, the rendered API entries
    assert "<title>" in dom and "neurodata" in dom
    assert "bd-header" in dom and "API reference" in dom
    assert 'id="neurodata.load"' in dom
    png = tmp_path / "page.png"
    subprocess.run([*flags, f"--screenshot={png}", url], capture_output=True, timeout=120)
    assert png.is_file() and png.stat().st_size > 20_000  # a rendered page, not a blank one
