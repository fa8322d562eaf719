"""The README stays true: every ```sh block runs, in order, in one bash session, against a fresh sandbox.

Blocks fenced ```` ```sh server ```` start something that keeps running (``make serve``, the webhook
listener): they run in the background and the next block waits for their ready line. The documented
ports (8080, 4000) are replaced by free ones and the sandbox gets a database of its own; nothing else
in the commands is changed, so what a newcomer pastes is what is tested.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```sh( server)?\n(.*?)^```\n", re.S | re.M)
READY = (
    ("make serve", "test API key"),
    ("care-sandbox serve", "test API key"),
    ("webhooks listen", "Listening on"),
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def readme_blocks() -> list[tuple[bool, str]]:
    return [(bool(server), text) for server, text in BLOCK.findall((ROOT / "README.md").read_text())]


def build_script(blocks: list[tuple[bool, str]], logs: Path) -> str:
    lines = [
        "set -euo pipefail",
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
        'ready() { for _ in $(seq 1 900); do grep -q "$2" "$1" && return 0; sleep 0.2; done;'
        ' echo "not ready: $1" >&2; cat "$1" >&2; return 1; }',
    ]
    for number, (server, text) in enumerate(blocks, 1):
        lines.append(f"echo '>>> README block {number}'")
        if server:
            pattern = next((ready for command, ready in READY if command in text), None)
            assert pattern, f"README block {number} starts something this test cannot wait for:\n{text}"
            log = logs / f"block{number}.log"
            lines.append(f"( {text.strip()}\n) > {log} 2>&1 &")
            lines.append(f"ready {log} '{pattern}'")
        else:
            lines.append(text)
    return "\n".join(lines) + "\n"


def test_readme_has_the_first_five_minutes() -> None:
    blocks = readme_blocks()
    assert blocks[0] == (True, blocks[0][1]) and "make serve" in blocks[0][1]
    every = "\n".join(text for _, text in blocks)
    assert "jq" not in every.split()  # python -m json.tool instead
    assert "<patient_id>" not in every and "…" not in every  # no placeholder left to fill in by hand
    assert re.search(r"\bcare-(sandbox|synth|conformance)\b", every)
    for _, text in blocks:
        for line in text.splitlines():
            bare = re.match(r"\s*(care-sandbox|care-synth|care-conformance|openapi-python-client)\b", line)
            assert bare is None, f"bare command (not found without .venv/bin/): {line}"


@pytest.mark.slow
def test_every_sh_block_of_the_readme_runs(tmp_path: Path) -> None:
    port, listener = _free_port(), _free_port()
    blocks = [
        (server, text.replace("8080", str(port)).replace("4000", str(listener)))
        for server, text in readme_blocks()
    ]
    script = build_script(blocks, tmp_path)
    (tmp_path / "readme.sh").write_text(script)
    env = {
        **os.environ,
        "PORT": str(port),
        "CARE_SANDBOX_PORT": str(port),
        "CARE_SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.sqlite3'}",
    }
    process = subprocess.Popen(
        ["bash", str(tmp_path / "readme.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=540)
    finally:
        # whatever the blocks left running (make → care-sandbox, the listener): the session we started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, output[-6000:]
    assert output.count(">>> README block") == len(blocks)
    assert "first patient: p2c_anon_" in output
    assert "\n403\n" in output and "\n429\n" in output
    served = (tmp_path / "block1.log").read_text()
    assert f"http://127.0.0.1:{port}" in served and "p2c_test_demo_242170eff3c05dd4426feb16" in served
