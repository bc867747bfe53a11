"""The VS Code extension's tests (editors/vscode/test, run by Node): the TextMate grammar
highlights every keyword and token class of grammar/segdsl.lark and every example file,
and the client bundle loads. Needs node and npm (the extension's locked packages are
installed with `npm ci` when missing); with env CI set, their absence fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.availability import running_in_ci

EXTENSION = Path(__file__).parent.parent / "editors" / "vscode"


def require_node() -> str:
    """node, with the extension's locked npm packages installed (`npm ci`) if missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = None
    if node is None or npm is None:
        missing = "node and npm are not installed"
    elif not (EXTENSION / "node_modules" / "vscode-textmate").is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=EXTENSION,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if installed.returncode != 0:
            missing = f"`npm ci` in editors/vscode failed: {installed.stderr[-1000:]}"
    if missing is not None:
        if running_in_ci():
            pytest.fail(f"{missing} (CI is set, so these tests must not be skipped)", pytrace=False)
        pytest.skip(missing)
    assert node is not None
    return node


def test_the_extension_tests_pass_in_node() -> None:
    node = require_node()
    result = subprocess.run(
        [node, "--test", "test/"], cwd=EXTENSION, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
