"""Headless Debian chromium through chromedriver (selenium), for the tests of the public pages."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest


def open_browser(languages: str = "fr-FR,fr") -> Any:
    """A selenium Chrome driver on /usr/bin/chromium with the console log kept, asking pages in
    ``languages`` (its Accept-Language: a French resident's browser by default; the pages
    follow it when there is no ``?lang=``). Missing parts fail the test under CI
    (scripts/setup installs them) and skip it elsewhere, with the reason."""
    missing = [p for p in ("/usr/bin/chromium", "/usr/bin/chromedriver") if not Path(p).exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing for the browser test: {', '.join(missing)}")
        pytest.skip(f"missing for the browser test: {', '.join(missing)}")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option("prefs", {"intl.accept_languages": languages})
    return webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver")))
