"""Set up and run the local BigQuery emulator (PyPI ``bqemulator``) for the engine tests.

The emulator pins its own duckdb, so it lives in its own virtualenv
(default ``<repo>/.bqemu``, git-ignored; override with ``SEGDSL_BQEMU_VENV``)
and runs as a separate process on free loopback ports. Offline it needs
DuckDB's spatial extension, installed from the ``duckdb-extension-spatial``
package. From the shell (e.g. in .ci/run):

    .venv/bin/python -m tests.engines.bqemu setup
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PACKAGES", "Emulator", "EmulatorUnavailable", "ensure_venv", "start", "venv_path"]

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("bqemulator==1.4.0", "duckdb==1.5.5", "duckdb-extension-spatial==1.5.5", "numpy")
PROJECT = "test-proj"
_READY_MARKER = ".segdsl-bqemu-ready"
_INSTALL_SPATIAL = (
    "import duckdb, glob, os, duckdb_extension_spatial as m; "
    "path = glob.glob(os.path.dirname(m.__file__) + '/**/*.duckdb_extension', recursive=True)[0]; "
    "duckdb.connect().execute(f\"INSTALL '{path}'\")"
)


class EmulatorUnavailable(RuntimeError):
    """The emulator's virtualenv could not be made, or the emulator did not start."""


def venv_path() -> Path:
    return Path(os.environ.get("SEGDSL_BQEMU_VENV") or REPO / ".bqemu")


def _run(command: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EmulatorUnavailable(f"{' '.join(command[:3])}...: {error}") from None
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).split()[-40:])
        raise EmulatorUnavailable(f"{' '.join(command[:4])}... failed: {tail}")


def ensure_venv(venv: Path | None = None, *, create: bool = True) -> Path:
    """The emulator's virtualenv, created (venv + pip install + spatial) if missing.

    The spatial extension is (re)installed on every call: it lives in the user's
    DuckDB folder, not in the virtualenv, and installing it takes about a second.
    """
    venv = venv or venv_path()
    python = venv / "bin" / "python"
    digest = hashlib.sha1(str(venv.resolve()).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"segdsl-bqemu-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one makes it, others wait
        _make_venv(venv, python, create=create)
    return venv


def _make_venv(venv: Path, python: Path, *, create: bool) -> None:
    if not (venv / _READY_MARKER).exists():
        if not create:
            raise EmulatorUnavailable(f"no emulator virtualenv at {venv}")
        _run([sys.executable, "-m", "venv", "--clear", str(venv)], timeout=120)
        _run([str(python), "-m", "pip", "install", "-q", *PACKAGES], timeout=900)
        (venv / _READY_MARKER).write_text(" ".join(PACKAGES) + "\n", encoding="utf-8")
    _run([str(python), "-c", _INSTALL_SPATIAL], timeout=120)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Emulator:
    """A running emulator process and where its REST API listens."""

    process: subprocess.Popen[bytes]
    rest_port: int
    log_path: Path
    project: str = PROJECT
    _log: object = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def url(self, dataset: str | None = None, **params: object) -> str:
        """A ``bigquery://`` URL for this emulator."""
        query = "&".join(
            [f"api_endpoint={self.endpoint}", *(f"{k}={v}" for k, v in params.items())]
        )
        return f"bigquery://{self.project}/{dataset or ''}?{query}"

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """Stop the emulator process by its pid (SIGTERM, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        log = self._log
        if log is not None and hasattr(log, "close"):
            log.close()


def start(venv: Path, log_path: Path, *, timeout: float = 60.0) -> Emulator:
    """Start ``bqemulator`` on free loopback ports and wait until its REST API answers."""
    rest, grpc = _free_port(), _free_port()
    log = log_path.open("wb")
    command = [
        str(venv / "bin" / "bqemulator"),
        "start",
        "--rest-host=127.0.0.1",
        f"--rest-port={rest}",
        "--grpc-host=127.0.0.1",
        f"--grpc-port={grpc}",
        f"--project={PROJECT}",
        "--ephemeral",
        "--log-level=warning",
    ]
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    emulator = Emulator(process=process, rest_port=rest, log_path=log_path, _log=log)
    probe = f"{emulator.endpoint}/bigquery/v2/projects/{PROJECT}/datasets"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            emulator.stop()
            raise EmulatorUnavailable(f"the emulator exited at start: {emulator.log_tail()}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(probe, timeout=2) as answer,
        ):
            if answer.status == 200:
                return emulator
        time.sleep(0.2)
    emulator.stop()
    raise EmulatorUnavailable(
        f"the emulator did not answer within {timeout:g} s: {emulator.log_tail()}"
    )


def main(argv: list[str]) -> int:
    """``setup``: make the virtualenv; ``check``: also start and stop the emulator once."""
    action = argv[0] if argv else "setup"
    started = time.monotonic()
    venv = ensure_venv()
    print(f"bqemulator virtualenv ready at {venv} in {time.monotonic() - started:.1f} s")
    if action == "check":
        started = time.monotonic()
        log = Path(os.environ.get("TMPDIR", "/tmp")) / "segdsl-bqemu-check.log"
        emulator = start(venv, log)
        print(f"emulator answered on {emulator.endpoint} after {time.monotonic() - started:.1f} s")
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
