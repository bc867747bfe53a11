"""The grammar itself: conflict-free, and the runtime parser needs no test-only package.

The strict build (shift/reduce conflicts and colliding terminals are errors) needs
``interegular``, a test-only package; the runtime builds the same grammar without it
and caches the built parser in the per-user cache folder, never the shared temp folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from segdsl.syntax import parser as parser_module

ROOT = Path(__file__).resolve().parents[1]

# Runs `seg validate examples` with the test-only packages unimportable.
_VALIDATE_WITHOUT_TEST_EXTRA = textwrap.dedent(
    """
    import importlib.abc, sys
    class TestOnly(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in {"interegular", "hypothesis", "pytest", "zetasql"}:
                raise ImportError(f"{name} is test-only")
    sys.meta_path.insert(0, TestOnly())
    sys.argv = ["seg", "validate", "examples"]
    from segdsl.cli.main import main
    main()
    """
)


def test_grammar_builds_in_strict_mode() -> None:
    """A shift/reduce conflict or two colliding terminals fail here."""
    lark = parser_module._ast_lark(strict=True)
    assert "start" in lark.options.start


def _validate_fresh(tmp_path: Path, cache_home: Path) -> subprocess.CompletedProcess[str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(temp), "XDG_CACHE_HOME": str(cache_home)}
    return subprocess.run(
        [sys.executable, "-c", _VALIDATE_WITHOUT_TEST_EXTRA],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_runtime_parser_needs_no_test_extra_and_caches_per_user(tmp_path: Path) -> None:
    cache_home = tmp_path / "cache"
    result = _validate_fresh(tmp_path, cache_home)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing left in the shared temp folder
    cached = list((cache_home / "segdsl").glob("grammar-*"))
    assert len(cached) == 1
    assert (cache_home / "segdsl").stat().st_mode & 0o077 == 0  # private to the user


def test_broken_or_stale_cache_is_harmless(tmp_path: Path) -> None:
    cache_home = tmp_path / "cache"
    assert _validate_fresh(tmp_path, cache_home).returncode == 0
    (cached,) = (cache_home / "segdsl").glob("grammar-*")
    cached.write_bytes(b"not a lark cache\n\x80\x04garbage")
    result = _validate_fresh(tmp_path, cache_home)
    assert result.returncode == 0, result.stderr
    assert "cache" not in result.stderr.lower()
    assert not cached.read_bytes().startswith(b"not a lark cache")  # rebuilt and rewritten


def test_unwritable_cache_folder_still_parses(tmp_path: Path) -> None:
    cache_home = tmp_path / "cache"
    cache_home.write_text("a file where the cache folder should be")
    result = _validate_fresh(tmp_path, cache_home)
    assert result.returncode == 0, result.stderr
