"""IDX files, the format MNIST-family datasets ship in: parsing (checked magic, dimensions and length) and reading the
gzipped files."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from mnistgen.errors import MnistgenError


def parse_idx(raw: bytes, expect_ndim: int, what: str) -> np.ndarray:
    """Parse an (uncompressed) IDX file of unsigned bytes; check magic, dims and length."""
    if len(raw) < 4 + 4 * expect_ndim:
        raise MnistgenError(f"{what} is truncated (only {len(raw)} bytes)")
    zero, dtype_code, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise MnistgenError(f"{what} is not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    if ndim != expect_ndim:
        raise MnistgenError(f"{what} has {ndim} dimensions, expected {expect_ndim}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if ndim == 3 and dims[1:] != [28, 28]:
        raise MnistgenError(f"{what} holds {dims[1]}x{dims[2]} images, expected 28x28")
    body = raw[4 + 4 * ndim :]
    expected = int(np.prod(dims))
    if len(body) != expected:
        raise MnistgenError(f"{what} is truncated or padded: {len(body)} data bytes, header says {expected}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims).copy()


def read_idx_gz(path: Path, expect_ndim: int) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise MnistgenError(
            f"{path} is corrupt or truncated ({type(exc).__name__}); delete it and fetch it again"
        ) from None
    return parse_idx(raw, expect_ndim, str(path))
