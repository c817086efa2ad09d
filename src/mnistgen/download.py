"""Fetching a dataset's four files from its public mirrors into a folder, each MD5-checked before it is renamed into
place; the only network access in mnistgen."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from mnistgen.errors import MnistgenError
from mnistgen.rundir import atomic_write

# MD5 of the files as the mirrors serve them (also used by torchvision).
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _fetch(url: str, timeout: float = 30.0) -> bytes:
    """Network access lives here alone, so tests can monkeypatch it."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def download(name: str, target: Path) -> Path:
    """Fetch the four files of ``name`` into ``target``; each is MD5-checked before it is renamed into place."""
    target.mkdir(parents=True, exist_ok=True)
    for filename, md5 in MD5[name].items():
        dest = target / filename
        if dest.is_file() and md5_of(dest) == md5:
            continue
        problems = []
        for mirror in MIRRORS[name]:
            try:
                payload = _fetch(mirror + filename)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                problems.append(f"{mirror}: {getattr(exc, 'reason', exc)}")
                continue
            got = hashlib.md5(payload).hexdigest()
            if got != md5:
                problems.append(f"{mirror}: checksum mismatch (got {got}, expected {md5}); file discarded")
                continue
            atomic_write(dest, lambda fh: fh.write(payload))  # noqa: B023 - called here, in this iteration
            break
        else:
            raise DownloadError(f"could not download {name}/{filename}: " + "; ".join(problems))
    return target


class DownloadError(MnistgenError):
    """No mirror delivered a verified file (offline, or every copy failed its checksum)."""
