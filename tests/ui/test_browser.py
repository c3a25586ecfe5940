"""The dashboard in a real browser: Debian's chromium driven by Selenium (system chromedriver).

The pages are served over real HTTP on loopback from a database with history; the test reads
the DOM as a person sees it and checks a screenshot: not blank, and the chart's colours where
the chart is. ``ORDERSYNC_UPDATE_SCREENSHOT=1`` writes the screenshot to docs/dashboard.png
(the one README shows). Outside CI the test skips when chromium is not installed; under
``CI=true`` that is a failure (``.ci/install-browser`` installs it).
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from helpers.dashboard_support import LOCK_OWNER, History, make_history
from helpers.support import IN_CI
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.states import BatchStatus
from ordersync.ui import Dashboard
from ordersync.ui.chart import COLOURS

pytest.importorskip("selenium")
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
TOKEN = "ui-test-token-3f9a"
# Earlier nightly runs, so the chart has more than one day: (days ago, created, updated, rejected)
EARLIER_RUNS = [(6, 40, 0, 1), (5, 12, 20, 0), (4, 0, 35, 2), (2, 18, 9, 0), (1, 5, 44, 3)]


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = (
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    )
    if IN_CI:
        pytest.fail(message + "; under CI=true the browser tests must run (.ci/install-browser)")
    pytest.skip(message)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1320,1400",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=driver)
    chrome = webdriver.Chrome(options=options, service=service)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def history(db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator) -> History:
    history = make_history(db, config, client, emulator)
    _earlier_runs(db, utcnow())
    return history


def _earlier_runs(db: Database, now: datetime) -> None:
    with db.engine.begin() as connection:
        for days_ago, created, updated, rejected in EARLIER_RUNS:
            at = now - timedelta(days=days_ago)
            connection.execute(
                db.tables.batches.insert().values(
                    batch_id=str(uuid.uuid4()),
                    board_id=CMS_BOARD_ID,
                    mode="test",
                    customer="PELOTON",
                    status=BatchStatus.BATCH_COMPLETED,
                    created_at=at,
                    staged_at=at,
                    completed_at=at + timedelta(seconds=40),
                    planned_items=created,
                    planned_item_updates=updated,
                    items_created=created,
                    items_updated=updated,
                    rows_rejected=rejected,
                )
            )


@pytest.fixture
def served(history: History, config: SyncConfig) -> Iterator[str]:
    """The dashboard on loopback over real HTTP, with a token (as beyond loopback)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, Dashboard(history.db, config, token=TOKEN))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_dashboard_in_a_real_browser(
    browser: webdriver.Chrome, served: str, history: History, db_url: str
) -> None:
    browser.get(served + "/")
    assert "a token is needed" in browser.find_element(By.TAG_NAME, "body").text

    browser.get(f"{served}/?token={TOKEN}")  # sets the cookie, then the address loses the token
    assert "token" not in browser.current_url
    assert browser.title == "ordersync — overview"
    text = {
        card: browser.find_element(By.ID, card).text
        for card in ("card-open", "card-lock", "card-webhook", "latest", "codes", "drift")
    }
    assert "5" in text["card-open"].split()  # RHONE's five ERR rows
    assert LOCK_OWNER in text["card-lock"]
    assert "1 pending" in text["card-webhook"]
    assert "GREYSON" in text["latest"] and "RHONE" in text["latest"]
    assert "COMPLETED_WITH_ERRORS" in text["latest"]
    assert "DUPLICATE_KEY" in text["codes"] and "appears more than once" in text["codes"]
    assert history.drifted_key in text["drift"] and "999" in text["drift"]

    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect[data-series]")
    values = {(b.get_attribute("data-series"), b.get_attribute("data-day")) for b in bars}
    today = f"{utcnow():%m-%d}"
    assert ("created", today) in values and ("rejected", today) in values
    assert len({day for _, day in values}) == len(EARLIER_RUNS) + 1

    chart = browser.find_element(By.ID, "chart")
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    if os.environ.get("ORDERSYNC_UPDATE_SCREENSHOT") == "1" and "sqlite" in db_url:
        SCREENSHOT.write_bytes(browser.get_screenshot_as_png())
    assert len(shot.resize((200, 200)).getcolors(maxcolors=1 << 16) or []) > 50  # not blank
    box = chart.rect
    region = shot.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    )
    found = _colours_present(region)
    assert {"created", "updated", "rejected"} <= found, found
    outside = shot.crop((0, int(box["y"] + box["height"]) + 40, shot.width, shot.height))
    assert "created" not in _colours_present(outside)  # bars only in the chart

    browser.find_element(By.LINK_TEXT, "Rejected rows").click()
    loaded = WebDriverWait(browser, 20)  # polls the page; the browser navigates on its own
    loaded.until(expected_conditions.title_is("ordersync — rejected rows"))
    code = browser.find_element(By.NAME, "code")
    code.send_keys("DUPLICATE_KEY")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    loaded.until(expected_conditions.url_contains("code=DUPLICATE_KEY"))
    loaded.until(expected_conditions.text_to_be_present_in_element((By.ID, "total"), "2 rows"))
    rows = browser.find_elements(By.CSS_SELECTOR, "details.code tbody tr")
    assert len(rows) == 2 and all("RHO-90004" in r.text for r in rows)
    assert "code=DUPLICATE_KEY" in browser.find_element(By.ID, "csv").get_attribute("href")


def _colours_present(image: Image.Image) -> set[str]:
    """Series whose colour covers more pixels than a legend swatch (10×10) could."""
    wanted = {name: tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for name, c in COLOURS.items()}
    counts = dict.fromkeys(wanted, 0)
    for n, pixel in image.getcolors(maxcolors=1 << 20) or []:
        for name, rgb in wanted.items():
            if all(abs(a - b) <= 6 for a, b in zip(pixel, rgb, strict=True)):
                counts[name] += n
    return {name for name, n in counts.items() if n > 150}
