"""The sandbox's OAuth consent page: who asks, for what, in plain words, readable on a phone.

A patient deciding whether to share health data must see *who* asks (the client's workspace name,
not an opaque ``cli_…`` id) and *what* each scope lets them read. The page is one server-rendered
document with no script and no external resource; its layout is a single column that fits a 390 px
wide phone (tested in Chromium).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "patients:read": "See that you are linked to them, with your anonymized id and what you shared.",
    "pain:read": "Read your pain check-ins: pain levels, body areas, pain qualities and notes.",
    "wellbeing:read": "Read your daily wellbeing questionnaire (WHO-5) scores.",
    "vitals:read": "Read vitals from your devices: heart rate, HRV, sleep, steps, blood pressure and more.",
    "vitals:write": "Add vitals to your record on behalf of a connected device.",
    "gauges:read": "Read your gauges: mood, anxiety, energy, sleep quality and the like.",
    "reports:read": "Create and download clinic reports (PDF) of your shared data.",
    "analytics:read": "Include your shared data, anonymized, in population statistics.",
    "webhooks:manage": "Be notified when you share new data or change your consent.",
    "fhir:read": "Read your shared data as FHIR R4 resources, for their clinical systems.",
    "events:read": "See the history of events about your shared data (new data, consent changes).",
    "sandbox:manage": "Use the sandbox's test controls (simulated patients and clock).",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {client} · care-sandbox</title>
<style>
*{{box-sizing:border-box}}
body{{font-family:system-ui,sans-serif;margin:0;padding:1rem;color:#1d2330;background:#f5f6f8;line-height:1.4}}
.card{{max-width:32rem;margin:0 auto;background:#fff;border:1px solid #d0d5dd;border-radius:12px;
padding:1.25rem}}
h1{{font-size:1.3rem;margin:0 0 .5rem;overflow-wrap:anywhere}}
ul{{padding:0;list-style:none}}
li{{margin:.6rem 0;overflow-wrap:anywhere}}
code{{font-size:.85rem;color:#4a5568}}
.actions{{display:flex;flex-wrap:wrap;gap:.5rem}}
button{{flex:1 1 8rem;font-size:1rem;padding:.75rem 1rem;border-radius:8px;border:1px solid #888;
background:#fff}}
.approve{{background:#1b6ef3;color:#fff;border-color:#1b6ef3}}
small{{color:#5f6b7a}}
</style></head><body><main class="card">
<h1>{client} wants access to your health data</h1>
<p><strong>{client}</strong> asks to:</p>
<ul>{scopes}</ul>
<form method="post" action="/oauth/authorize">{hidden}
<div class="actions">
<button class="approve" name="decision" value="approve">Allow</button>
<button name="decision" value="deny">Deny</button>
</div></form>
<p><small>You can withdraw this access at any time. care-sandbox consent page: a test patient, no real
account.</small></p></main></body></html>"""


def describe(scope: str) -> str:
    return SCOPE_DESCRIPTIONS.get(scope, "Access described by the scope name.")


def render_consent_page(client_name: str, scopes: list[str], hidden: Mapping[str, str]) -> str:
    """The page; every value the request supplied is HTML-escaped."""
    items = "".join(f"<li>{html.escape(describe(s))}<br><code>{html.escape(s)}</code></li>" for s in scopes)
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in hidden.items()
    )
    return _PAGE.format(client=html.escape(client_name), scopes=items, hidden=fields)
