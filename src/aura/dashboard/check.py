"""The dashboard in a real browser: start ``aura dashboard`` on a free 127.0.0.1 port, drive
headless Chromium (Debian's ``chromium`` + ``chromium-driver``) with Selenium, load every page,
check its key elements are there and no error is shown, upload a video on the scoring page, and
save a screenshot per page.

``python -m aura.dashboard.check`` (``make dashboard-check``) runs it on the project in the
current folder; the test suite runs the same :func:`run_check` on the demo run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Text that proves a page rendered its key elements (on any finished run).
PAGES: dict[str, tuple[str, ...]] = {
    "runs": (
        "Corpus, counts and config hash",
        "Pooled out-of-fold metrics",
        "Per-fold metrics",
        "Model comparison",
        "Slices",
        "Robustness",
        "Curves and calibration",
    ),
    "threshold": ("Threshold explorer", "Precision", "Recall", "FPR", "Confusion matrix"),
    "videos": (
        "Video drill-down",
        "Probe metadata",
        "Features",
        "Scores per model and fold",
        "Ingest failures",
    ),
    "score": ("Score a video", "Upload a file", "Path on the server"),
}
#: Each page's URL path (the default page lives at the root).
URLS = {"runs": "", "threshold": "threshold", "videos": "videos", "score": "score"}
#: What a page shows when something went wrong.
ERROR_SELECTORS = (
    '[data-testid="stException"]',
    '[data-testid="stAlertContentError"]',
    '[role="dialog"]',  # e.g. Streamlit's "Page not found"
)


@dataclass(frozen=True)
class Browser:
    """The Chromium and chromedriver binaries to use."""

    chromium: str
    driver: str


@dataclass
class PageResult:
    """One page as the browser showed it."""

    page: str
    missing: list[str]
    errors: list[str]
    screenshot: Path
    seconds: float
    text: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return not self.missing and not self.errors


@dataclass
class CheckReport:
    """Every page checked, and the probability the scoring page showed for the upload."""

    pages: list[PageResult]
    upload_probability: str | None
    log: Path

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pages) and self.upload_probability is not None


def find_browser() -> Browser | None:
    """Chromium and chromedriver on PATH (or Debian's /usr/bin paths), else None."""
    chromium = next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None
    )
    return Browser(chromium, driver) if chromium and driver else None


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _aura() -> list[str]:
    script = Path(sys.executable).with_name("aura")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from aura.console import main; main()"]


def start_server(project: Path, port: int, log: Path, env: str | None = None) -> subprocess.Popen:
    """``aura dashboard`` in its own process group, output to ``log``."""
    args = [*_aura(), "dashboard", "--project", str(project), "--port", str(port)]
    if env:
        args += ["--env", env]
    with log.open("w") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=project
        )


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait for Streamlit's health endpoint; raise with the log if the server dies or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"aura dashboard exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(
        f"aura dashboard not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def new_driver(browser: Browser, width: int = 1440, height: int = 2200):  # noqa: ANN201
    """A headless Chromium WebDriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser.chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(browser.driver), options=options)


def _settled(driver, texts: tuple[str, ...], timeout: float) -> tuple[list[str], str]:  # noqa: ANN001
    """Wait until every text shows and Streamlit stopped running; (missing texts, page text)."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    missing: list[str] = list(texts)
    body = ""
    while time.monotonic() < deadline:
        body = driver.find_element(By.TAG_NAME, "body").text
        missing = [t for t in texts if t not in body]
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        if not missing and not any(e.is_displayed() for e in running):
            time.sleep(1.5)  # let the charts draw before the screenshot
            return [], driver.find_element(By.TAG_NAME, "body").text
        time.sleep(0.5)
    return missing, body


def _errors(driver) -> list[str]:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    return [e.text for s in ERROR_SELECTORS for e in driver.find_elements(By.CSS_SELECTOR, s)]


def check_page(
    driver,
    base: str,
    page: str,
    expect: tuple[str, ...],
    out: Path,
    timeout: float,  # noqa: ANN001
) -> PageResult:
    """Load ``base/page``, wait for ``expect``, save ``out/<page>.png``."""
    start = time.monotonic()
    driver.get(f"{base}/{URLS.get(page, page)}")
    missing, text = _settled(driver, expect, timeout)
    shot = out / f"{page}.png"
    driver.save_screenshot(str(shot))
    return PageResult(page, missing, _errors(driver), shot, time.monotonic() - start, text)


def check_upload(
    driver, base: str, video: Path, out: Path, timeout: float
) -> tuple[PageResult, str | None]:  # noqa: ANN001
    """Upload ``video`` on the scoring page; the result and the P(fake) it shows."""
    from selenium.webdriver.common.by import By

    start = time.monotonic()
    driver.get(f"{base}/score")
    _settled(driver, PAGES["score"], timeout)
    field_ = driver.find_element(
        By.CSS_SELECTOR, '[data-testid="stFileUploader"] input[type="file"]'
    )
    field_.send_keys(str(video.resolve()))
    expect = ("Verdict", "P(fake)", "Segment timeline", "Explanation")
    missing, text = _settled(driver, expect, timeout)
    shot = out / "score_upload.png"
    driver.save_screenshot(str(shot))
    found = re.search(r"P\(fake\)\s*\n\s*([0-9.]+)", text)
    result = PageResult(
        "score (upload)", missing, _errors(driver), shot, time.monotonic() - start, text
    )
    return result, found.group(1) if found else None


def run_check(
    project: Path,
    out: Path,
    *,
    video: Path,
    env: str | None = None,
    extra: dict[str, tuple[str, ...]] | None = None,
    timeout: float = 240,
    browser: Browser | None = None,
) -> CheckReport:
    """Start the dashboard on ``project``, check every page in headless Chromium (plus the
    ``extra`` texts per page), upload ``video``; screenshots go to ``out``."""
    browser = browser or find_browser()
    if browser is None:
        raise RuntimeError(
            "no chromium / chromedriver found (apt-get install chromium chromium-driver)"
        )
    out.mkdir(parents=True, exist_ok=True)
    log = out / "dashboard.log"
    port = free_port()
    proc = start_server(project, port, log, env)
    driver = None
    try:
        wait_ready(port, proc, log, timeout)
        driver = new_driver(browser)
        driver.set_page_load_timeout(timeout)
        base = f"http://127.0.0.1:{port}"
        pages = [
            check_page(driver, base, page, texts + (extra or {}).get(page, ()), out, timeout)
            for page, texts in PAGES.items()
        ]
        upload, probability = check_upload(driver, base, video, out, timeout)
        return CheckReport([*pages, upload], probability, log)
    finally:
        if driver is not None:
            driver.quit()
        stop_server(proc)


def _first_video(project: Path, env: str | None) -> Path:
    """An ingested original of the project (the first ``ok`` row of ``video_index``)."""
    import polars as pl

    from aura.dashboard.data import Project

    index = Project(project, env).load("video_index")
    if index is None:
        raise SystemExit("no video_index in this project: run `make run` first, or pass --video")
    ok = index.filter(pl.col("status") == "ok").sort("video_id")
    if not ok.height:
        raise SystemExit("video_index has no ok video: pass --video")
    return Path(ok["path"][0])


def main(argv: list[str] | None = None) -> int:
    """Check the dashboard of the project in the current folder; exit 1 on any failure."""
    parser = argparse.ArgumentParser(prog="python -m aura.dashboard.check", description=__doc__)
    parser.add_argument("--project", type=Path, default=Path.cwd())
    parser.add_argument("--env", default=None)
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/dashboard_check"))
    parser.add_argument("--video", type=Path, default=None, help="file to upload [an ingested one]")
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args(argv)
    if find_browser() is None:
        print(
            "dashboard-check: no chromium / chromedriver (apt-get install chromium chromium-driver)"
        )
        return 2
    project = args.project.resolve()
    video = args.video or _first_video(project, args.env)
    report = run_check(project, args.out.resolve(), video=video, env=args.env, timeout=args.timeout)
    for page in report.pages:
        state = "ok" if page.ok else f"FAILED missing {page.missing} errors {page.errors}"
        print(f"{page.page:<16} {page.seconds:6.1f} s  {state}  {page.screenshot}")
    print(f"upload of {video}: P(fake) {report.upload_probability or 'not shown'}")
    print(f"server log: {report.log}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
