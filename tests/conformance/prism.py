"""Stoplight Prism 5.16 as a third-party implementation of the contract, for the kit's tests.

Prism is an npm package; `.ci/run` installs it into `.cache/prism` where npm exists. Tests never download
it: `prism_binary()` finds an installed copy (CARE_CONFORMANCE_PRISM, `.cache/prism`, or PATH) or says why
there is none, and the tests skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conformance.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"
INSTALL = "npm install --prefix .cache/prism @stoplight/prism-cli@5.16 (what .ci/run does)"


def prism_binary() -> tuple[Path | None, str]:
    """The Prism executable, or None and the reason it is unavailable."""
    if shutil.which("node") is None:
        return None, "Node.js is not installed (Prism 5.16 is an npm package)"
    configured = os.environ.get("CARE_CONFORMANCE_PRISM")
    for candidate in (Path(configured) if configured else None, LOCAL):
        if candidate is not None and candidate.exists():
            return candidate, ""
    found = shutil.which("prism")
    if found:
        return Path(found), ""
    return None, f"Prism 5.16 is not installed; install it with: {INSTALL}"


@contextmanager
def running_prism(spec: Path, *, dynamic: bool) -> Iterator[str]:
    """Serve `spec` with `prism mock` (static or --dynamic) on a free loopback port; yields its URL."""
    binary, reason = prism_binary()
    assert binary is not None, reason
    port = free_port()
    command = [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    if dynamic:
        command.append("--dynamic")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"prism did not start (exit {process.poll()})") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
