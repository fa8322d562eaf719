"""The consent page fits a 390 px phone, measured in Chromium (issue 12).

Headless Chromium will not make a window narrower than 500 px, so the page is laid out inside a
390 px wide same-origin iframe (``srcdoc``) and measured from the parent: nothing may scroll
sideways and both buttons must lie fully inside the viewport.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fixtures.sandbox import RunningSandbox

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_WIDTH = 390

_HARNESS = """<!doctype html><html><body style="margin:0">
<iframe id="f" style="width:{width}px;height:844px;border:0" srcdoc="{page}"></iframe>
<script>
const f = document.getElementById('f');
f.onload = () => {{
  const d = f.contentDocument;
  const boxes = [...d.querySelectorAll('button')].map(b => {{
    const r = b.getBoundingClientRect(); return [r.left, r.right, r.height];
  }});
  document.body.setAttribute('data-measured', JSON.stringify({{
    scrollWidth: d.documentElement.scrollWidth, viewport: f.contentWindow.innerWidth,
    buttons: boxes, heading: d.querySelector('h1').textContent,
  }}));
}};
</script></body></html>"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_consent_page_fits_a_phone(sandbox: RunningSandbox, tmp_path: Path) -> None:
    page = httpx.get(
        f"{sandbox.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.alpha.client_id,
            "redirect_uri": "http://127.0.0.1:9000/callback",
            "scope": "patients:read pain:read wellbeing:read vitals:read reports:read fhir:read",
        },
    )
    assert page.status_code == 200, page.text
    harness = tmp_path / "phone.html"
    harness.write_text(_HARNESS.format(width=PHONE_WIDTH, page=html.escape(page.text, quote=True)))
    dumped = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            harness.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    marker = 'data-measured="'
    assert marker in dumped, dumped[-2000:]
    measured = json.loads(html.unescape(dumped.split(marker, 1)[1].split('"', 1)[0]))
    assert measured["viewport"] == PHONE_WIDTH
    assert measured["scrollWidth"] <= PHONE_WIDTH, measured
    assert len(measured["buttons"]) == 2
    for left, right, height in measured["buttons"]:
        assert left >= 0 and right <= PHONE_WIDTH and height >= 40, measured  # a thumb-sized target
    assert sandbox.alpha.workspace.name in measured["heading"]
