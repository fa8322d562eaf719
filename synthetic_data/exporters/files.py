"""A sink that appends each block's bytes to one file per series (NDJSON and CSV share it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from synthetic_data.exporters.base import Block


class FileSink:
    """Opens `<series><suffix>` for every series up front (truncating), appends blocks in order.

    `preamble` (file name -> bytes) is written first: CSV headers, only on the first shard, so that
    concatenating shard files gives the unsharded file.
    """

    def __init__(self, out_dir: Path, names: list[str], preamble: dict[str, bytes] | None = None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._paths = {name: out_dir / name for name in names}
        self._files: dict[str, BinaryIO] = {name: path.open("wb") for name, path in self._paths.items()}
        for name, data in (preamble or {}).items():
            self._files[name].write(data)

    def write(self, block: Block) -> None:
        for name, data in block.files.items():
            if data:
                self._files[name].write(data)
        for name, path in block.spilled.items():
            target = self._files[name]
            target.flush()
            with open(path, "rb") as source:
                _copy(source.fileno(), target.fileno(), os.fstat(source.fileno()).st_size)
            os.unlink(path)

    def close(self) -> dict[str, int]:
        sizes = {}
        for name, handle in self._files.items():
            handle.close()
            sizes[name] = self._paths[name].stat().st_size
        return sizes


def _copy(src: int, dst: int, size: int) -> None:
    """Append `size` bytes of `src` to `dst` inside the kernel (sendfile: no copy through Python)."""
    offset = 0
    while offset < size:
        try:
            done = os.sendfile(dst, src, offset, size - offset)
        except OSError:  # sendfile unsupported between these files: plain reads and writes
            os.lseek(src, offset, os.SEEK_SET)
            done = os.write(dst, os.read(src, min(size - offset, 1 << 24)))
        if done == 0:
            raise OSError(f"short copy while appending a spilled block ({offset} of {size} bytes)")
        offset += done
