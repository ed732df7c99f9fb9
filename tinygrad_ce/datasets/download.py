"""Fetching a file into the cache: checksum verified, written atomically, a bounded wait."""

import hashlib
import os
import pathlib
import tempfile
import urllib.request

TIMEOUT = 5.0  # seconds to connect, and to wait for each block of data, before giving up

BY_HAND = "--download on the command line, download=True in Python"


def default_root(name):
    """Where a dataset lives by default: $TINYGRAD_CE_DATA/name or ~/.cache/tinygrad_ce/name."""
    base = os.environ.get("TINYGRAD_CE_DATA") or pathlib.Path.home() / ".cache" / "tinygrad_ce"
    return pathlib.Path(base) / name


def missing_message(who, names, folder, urls):
    """The one line for files that are not there: where they go, where they come from, and
    both spellings of fetching them (command line and Python)."""
    return (f"{who}: {', '.join(names)} not in {folder}; download {' '.join(urls)} and put them "
            f"in {folder} by hand, or fetch them with {BY_HAND} (choose another folder with "
            "--data-root, or root=...)")


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url, path, checksum):
    """Download ``url`` to ``path`` unless a file with the right MD5 is already there.

    The download goes to a temporary file in the same folder and is renamed into place only
    after its checksum matches, so a failed or corrupt download never leaves a partial file,
    nor a folder that this call created and left empty. Connecting and each read wait at most
    ``TIMEOUT`` seconds.
    """
    path = pathlib.Path(path)
    if path.exists() and md5(path) == checksum:
        return path
    created = _make_folders(path.parent)
    try:
        _download(url, path, checksum)
    except BaseException:
        for folder in created:  # deepest first; only those this call made, and only if empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return path


def _make_folders(folder):
    """mkdir -p, returning the folders it created, deepest first."""
    created, f = [], folder
    while not f.exists():
        created.append(f)
        f = f.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _download(url, path, checksum):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT) as r:
                for block in iter(lambda: r.read(1 << 20), b""):
                    out.write(block)
        except OSError as e:  # URLError is an OSError; a timeout may come wrapped in one
            reason = getattr(e, "reason", None) or e
            what = (f"no answer within {TIMEOUT:g} s" if isinstance(reason, TimeoutError)
                    else f"{reason} (timeout {TIMEOUT:g} s)")
            raise OSError(f"could not download {url}: {what}; check the network, or put "
                          f"{path.name} in {path.parent} by hand") from None
        got = md5(tmp)
        if got != checksum:
            raise OSError(f"download of {url} has MD5 {got}, expected {checksum}; the file was "
                          "discarded, try again or place the official file in "
                          f"{path.parent} yourself")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
