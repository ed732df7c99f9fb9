"""Fetching a file into the cache: checksum verified, written atomically."""

import hashlib
import os
import pathlib
import tempfile
import urllib.request


def default_root(name):
    """Where a dataset lives by default: $TINYGRAD_CE_DATA/name or ~/.cache/tinygrad_ce/name."""
    base = os.environ.get("TINYGRAD_CE_DATA") or pathlib.Path.home() / ".cache" / "tinygrad_ce"
    return pathlib.Path(base) / name


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url, path, checksum):
    """Download ``url`` to ``path`` unless a file with the right MD5 is already there.

    The download goes to a temporary file in the same folder and is renamed into place only
    after its checksum matches, so a failed or corrupt download never leaves a partial file.
    """
    path = pathlib.Path(path)
    if path.exists() and md5(path) == checksum:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        got = md5(tmp)
        if got != checksum:
            raise OSError(f"download of {url} has MD5 {got}, expected {checksum}; the file was "
                          "discarded, try again or place the official file in "
                          f"{path.parent} yourself")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
