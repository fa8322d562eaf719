"""Build hook: put the contract inside the packages that read it at run time.

``openapi.yaml`` stays the single source at the project root (every tool and the tests read that
file in a checkout). A wheel has no project root, so the build copies the file, byte for byte, into
``mock_server/`` and ``conformance/`` of the build tree; both look for that copy first
(``mock_server.spec.bundled_contract``, ``conformance.spec.default_spec_path``). Two copies, because
neither package may import the other. Editable installs skip the copy: they read the root file, so
there is never a stale second copy in the source tree. Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONTRACT = "openapi.yaml"
PACKAGES_READING_IT = ("mock_server", "conformance")


class BuildPyWithContract(build_py):  # type: ignore[misc]
    """``build_py`` that also copies the top-level contract into each package that reads it."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = Path(__file__).resolve().parent / CONTRACT
        for package in PACKAGES_READING_IT:
            target = Path(self.build_lib) / package / CONTRACT
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            outputs += [str(Path(self.build_lib) / package / CONTRACT) for package in PACKAGES_READING_IT]
        return outputs


setup(cmdclass={"build_py": BuildPyWithContract})
