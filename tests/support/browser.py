"""Headless Chromium through Playwright, for tests of the HTML catalogue (`seg docs`).

Playwright drives Debian's `chromium` package (`apt-get install chromium`; .ci/run
installs it), so no `playwright install` download is needed. Like Postgres (see
availability.py): when CI is set, a missing browser or playwright fails the test;
elsewhere it is skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.availability import running_in_ci

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # no background DNS
]


def chromium_path() -> str | None:
    """$CHROMIUM, else `chromium` on the PATH."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


def _unavailable(message: str) -> None:
    if running_in_ci():
        pytest.fail(f"{message} (CI is set, so browser tests must not be skipped)", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """A running headless Chromium (a playwright Browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class PageErrors:
    """Console errors and uncaught exceptions of one page, and dialogs it opened."""

    def __init__(self, page: Any) -> None:
        self.console: list[str] = []
        self.uncaught: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        page.on("pageerror", lambda error: self.uncaught.append(str(error)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def all(self) -> list[str]:
        return [*self.console, *self.uncaught, *(f"dialog: {d}" for d in self.dialogs)]
