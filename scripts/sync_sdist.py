"""Unpacks an sdist into DIR, rewriting only the files whose bytes changed (python/test.sh).

maturin stamps every file of an sdist with one fixed, old mtime; a cargo target directory
reused between builds compares mtimes, so a wheel built straight from a new sdist can be the
old code. Files written here get the current time; unchanged ones keep theirs, so cargo
rebuilds what changed and nothing else. Files no longer in the sdist are removed.

Usage: python sync_sdist.py SDIST.tar.gz DIR
"""

from __future__ import annotations

import pathlib
import sys
import tarfile


def sync(sdist: pathlib.Path, dest: pathlib.Path) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    wanted: set[pathlib.Path] = set()
    written = 0
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            # Every member sits under one top directory (name-version/); strip it.
            parts = pathlib.PurePosixPath(member.name).parts[1:]
            if not parts or ".." in parts or member.name.startswith("/"):
                continue
            target = dest.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                raise SystemExit(f"sync_sdist: {member.name}: not a regular file")
            wanted.add(target)
            f = tar.extractfile(member)
            assert f is not None
            data = f.read()
            if target.is_file() and target.read_bytes() == data:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(member.mode & 0o755 | 0o644)
            written += 1
    for old in sorted(dest.rglob("*"), reverse=True):
        if old.is_file() and old not in wanted:
            old.unlink()
        elif old.is_dir() and not any(old.iterdir()):
            old.rmdir()
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    n = sync(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
    print(f"sync_sdist: {n} file(s) changed in {sys.argv[2]}")
