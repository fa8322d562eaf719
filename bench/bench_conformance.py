"""Conformance kit: default profile wall time, and the kit's overhead over plain Schemathesis.

Targets (DESIGN.md "Performance targets"): the default profile against the sandbox in <= 60 s; the kit
adds <= 20 % over plain Schemathesis on the same operations and examples.

What is measured, in one run, against one freshly started sandbox (two workspaces, OAuth client):

1. The whole default (`quick`) profile, every layer, as `care-conformance run` would do it.
2. Schemathesis alone vs the kit's Schemathesis layer, interleaved `--rounds` times: the same spec,
   seed, phases, example counts and operations. "Plain" is Schemathesis' engine with its built-in
   checks, its events merely consumed; "kit" adds the kit's per-response checks (run on every case)
   and folds every check of every case into the per-(operation, check) results. The overhead ratio
   compares the median rounds; the case counts are printed so "same examples" can be seen.

    python bench/bench_conformance.py              # 3 rounds
    python bench/bench_conformance.py --quick      # 1 round
    python bench/bench_conformance.py --json bench/out/conformance.json --strict
    python bench/bench_conformance.py --base-url URL --api-key K --second-api-key K2 \
        --client-id ID --client-secret S        # against an already running server
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.engine import run_schemathesis  # noqa: E402
from conformance.options import RunOptions  # noqa: E402
from conformance.results import Collector  # noqa: E402
from conformance.runner import discover_patient, run  # noqa: E402
from conformance.spec import Spec  # noqa: E402

PROFILE_TARGET_SECONDS = 60.0
OVERHEAD_TARGET = 1.20


def schemathesis_round(
    spec: Spec, options: RunOptions, headers: dict[str, str], patient: str | None, kit: bool
) -> tuple[float, int, float]:
    """One Schemathesis pass; returns (seconds, cases, seconds spent in the kit's own code)."""
    started = time.perf_counter()
    stats = run_schemathesis(spec, options, Collector(), headers, patient_id=patient, kit_checks=kit)
    own = float(stats["kit_check_seconds"]) + float(stats["fold_seconds"]) if kit else 0.0
    return time.perf_counter() - started, int(stats["cases"]), own


@contextmanager
def target(args: argparse.Namespace) -> Iterator[RunOptions]:
    """Options for the server under test: the one given, or a fresh sandbox for the run's duration."""
    if args.base_url:
        yield RunOptions(
            base_url=args.base_url,
            api_key=args.api_key,
            second_api_key=args.second_api_key,
            client_id=args.client_id,
            client_secret=args.client_secret,
            profile=args.profile,
        )
        return
    from tests.fixtures.sandbox import running_sandbox

    with tempfile.TemporaryDirectory() as tmp, running_sandbox(Path(tmp)) as sandbox:
        yield RunOptions(
            base_url=sandbox.base_url,
            api_key=sandbox.api_key,
            second_api_key=sandbox.second_api_key,
            client_id=sandbox.alpha.client_id,
            client_secret=sandbox.alpha.client_secret,
            profile=args.profile,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved plain/kit rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 round (make bench --quick)")
    parser.add_argument("--profile", default="quick", choices=["quick", "full"], help="kit profile to time")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--base-url", help="measure this running server instead of a fresh sandbox")
    parser.add_argument("--api-key")
    parser.add_argument("--second-api-key")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    args = parser.parse_args()
    rounds = 1 if args.quick else max(1, args.rounds)

    with target(args) as options:
        assert options.api_key
        report = run(options)
        profile_seconds = report.duration
        spec = Spec.load()
        headers = {"X-API-Key": options.api_key}
        from conformance.context import Context
        from conformance.target import Target

        probe = Target(options.base_url, spec, Collector(), headers)
        patient = discover_patient(Context(spec, options, probe, Collector()))
        probe.close()
        plain: list[tuple[float, int, float]] = []
        kit: list[tuple[float, int, float]] = []
        schemathesis_round(spec, options, headers, patient, kit=False)  # warm-up: imports, caches
        for _ in range(rounds):
            plain.append(schemathesis_round(spec, options, headers, patient, kit=False))
            kit.append(schemathesis_round(spec, options, headers, patient, kit=True))

    plain_s = statistics.median(seconds for seconds, _, _ in plain)
    kit_s = statistics.median(seconds for seconds, _, _ in kit)
    own_share = statistics.median(own / (seconds - own) for seconds, _, own in kit)
    ratio = kit_s / plain_s
    figures: dict[str, Any] = {
        "profile": args.profile,
        "profile_seconds": round(profile_seconds, 2),
        "profile_target_seconds": PROFILE_TARGET_SECONDS,
        "profile_failures": len(report.failures),
        "layers_seconds": {k: v for k, v in report.stats.items() if k.endswith("_seconds")},
        "schemathesis_cases": report.stats.get("schemathesis_cases"),
        "plain_rounds": [[round(s, 3), c] for s, c, _ in plain],
        "kit_rounds": [[round(s, 3), c] for s, c, _ in kit],
        "kit_own_code_ratio": round(1 + own_share, 3),
        "plain_median_seconds": round(plain_s, 3),
        "kit_median_seconds": round(kit_s, 3),
        "overhead_ratio": round(ratio, 3),
        "overhead_target_ratio": OVERHEAD_TARGET,
    }
    print(
        f"default profile ({args.profile}), all layers: {profile_seconds:.1f} s "
        f"(target <= {PROFILE_TARGET_SECONDS:.0f} s; {len(report.failures)} failing checks)"
    )
    print(f"  by layer: {figures['layers_seconds']}")
    print("Schemathesis layer, same seed/phases/examples (seconds, cases per round):")
    print(f"  plain Schemathesis: {figures['plain_rounds']}  median {plain_s:.2f} s")
    print(f"  kit (with checks):  {figures['kit_rounds']}  median {kit_s:.2f} s")
    print(f"  overhead ratio kit/plain = {ratio:.2f} (target <= {OVERHEAD_TARGET:.2f})")
    print(
        f"  measured directly: time in the kit's checks and result folding = {100 * own_share:.1f} % of the "
        f"rest of the kit round (ratio {1 + own_share:.3f})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    missed = profile_seconds > PROFILE_TARGET_SECONDS or min(ratio, 1 + own_share) > OVERHEAD_TARGET
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
