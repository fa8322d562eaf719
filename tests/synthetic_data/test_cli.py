"""The care-synth CLI: help with examples, one-line errors, and generate -> describe -> plot."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from synthetic_data.cli import main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_help_with_an_example() -> None:
    assert "Example:" in (main.help or "")
    for name, command in main.commands.items():
        code, out, _ = _run(name, "--help")
        assert code == 0 and "Example: care-synth " in out, name
        assert isinstance(command, click.Command) and command.help


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["generate", "--patients", "0"], "--patients"),
        (["generate", "--shard", "3/2"], "--shard"),
        (["generate", "--shard", "x"], "i/N"),
        (["generate", "--messiness", "1.5"], "--messiness"),
        (["generate", "--conditions", "gout"], "gout"),
        (["generate", "--start", "2026-13-01"], "YYYY-MM-DD"),
        (["generate", "--format", "xml"], "--format"),
        (["describe", "/nonexistent/dir"], "not a directory"),
        (["plot", "/nonexistent/dir", "--patient", "0", "--out", "x.png"], "not a directory"),
        (["frobnicate"], "No such command"),
        # a dataset in this process's memory would vanish at exit after a summary saying it was written
        (["generate", "--out", "memory://x", "--scheduler", "tcp://127.0.0.1:1"], "memory://"),
    ],
)
def test_bad_arguments_give_one_line_and_a_non_zero_exit(args: list[str], needle: str) -> None:
    code, out, err = _run(*args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0], err
    assert "Traceback" not in out + err


def test_out_must_be_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, _, err = _run("generate", "--patients", "1", "--days", "1", "--out", str(target))
    assert code != 0 and err.startswith("Error: ") and "is a file" in err


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "sqlite"])
def test_generate_describe_plot(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    code, _, err = _run(
        "generate",
        "--patients",
        "12",
        "--days",
        "60",
        "--seed",
        "5",
        "--format",
        fmt,
        "--out",
        str(out),
        "--workers",
        "2",
        "--conditions",
        "migraine,fibromyalgia",
    )
    assert code == 0, err
    assert "patients/min" in err and "Synthea" in err  # the summary
    code, text, err = _run("describe", str(out))
    assert code == 0, err
    for heading in ("Pain", "Wellbeing and couplings", "Vitals", "Missingness"):
        assert heading in text
    assert "migraine" in text and "fibromyalgia" in text and "knee_osteoarthritis" not in text
    png = tmp_path / f"{fmt}.png"
    code, text, err = _run("plot", str(out), "--patient", "3", "--out", str(png))
    assert code == 0, err
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_fhir_output_and_its_refusal_to_describe(tmp_path: Path) -> None:
    out = tmp_path / "fhir"
    code, _, err = _run(
        "generate", "--patients", "3", "--days", "7", "--format", "fhir", "--out", str(out), "--quiet"
    )
    assert code == 0 and err == ""
    assert len(list((out / "fhir").glob("p2c_anon_*.json"))) == 3
    code, _, err = _run("describe", str(out))
    assert code == 1 and "FHIR" in err


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "synthetic_data", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "care-synth" in done.stdout
