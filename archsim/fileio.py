"""Atomic writes with ordinary permissions, shared by every writer of archsim's outputs (traces,
results, sweep stores, imported configs, experiment caches), and the rule for ``-o``.

The ``-o`` rule (every command that writes follows it, see :func:`check_output_dir` and
:func:`check_output_file`): an output folder is written into a new folder, an empty one, or one
that holds a previous archsim output (it carries the marker file :data:`OUTPUT_MARKER`, written
with every result, or the files of a result written before markers existed); anything else is an
error naming the path. An output file replaces only a file that is a previous output of the same
kind. The current folder, a folder above it, the home folder and ``/`` are never output folders.

A file is written next to its destination under a hidden temporary name and renamed into place,
so a reader never sees half a file and a failed write leaves nothing behind. ``tempfile`` makes
private files (0600) and folders (0700); an output is an ordinary file, so the mode is reset to
what the user's umask gives.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from archsim.errors import ArchsimError

OUTPUT_MARKER = ".archsim-output"
# files that identify an archsim output folder written before the marker existed
_LEGACY_OUTPUT_FILES = ("summary.json", "sweep.json", "recipe.json")


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_dir(path: str | Path, kind: str = "result") -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` (all its files
    appear together), on error it goes. ``path`` must pass :func:`check_output_dir`; the new
    folder carries the output marker (``kind`` is written into it)."""
    path = check_output_dir(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise ArchsimError(f"{path}: cannot write the output folder ({exc.strerror or exc})") from None
    tmp.chmod(0o777 & ~umask())
    try:
        _write_marker(tmp, kind)
        yield tmp
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory ``src`` to ``dst``, replacing an existing ``dst`` as atomically as a file
    system allows (rename the old one away first, then drop it)."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- the -o rule

def is_archsim_output(path: Path) -> bool:
    """A folder archsim wrote: it holds the marker, or (written before markers existed) a result's
    ``summary.json``, a sweep's ``sweep.json``, a recipe's ``recipe.json``, or recipe outputs."""
    if not path.is_dir():
        return False
    if (path / OUTPUT_MARKER).is_file() or any((path / f).is_file() for f in _LEGACY_OUTPUT_FILES):
        return True
    try:
        subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return False
    return bool(subdirs) and any((p / "recipe.json").is_file() for p in subdirs)


def _protected(resolved: Path) -> str | None:
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        return "is the current folder or a folder above it"
    if resolved == Path(resolved.anchor):
        return "is the file-system root"
    try:
        if resolved == Path.home().resolve():
            return "is the home folder"
    except (RuntimeError, KeyError):   # no home folder known
        pass
    return None


def _make_parent(path: Path) -> None:
    """Create ``path``'s parent folders, or raise one line naming what is in the way."""
    for anc in [path.parent, *path.parent.parents]:
        if anc.exists() or anc.is_symlink():
            if not anc.is_dir():
                raise ArchsimError(f"{path}: cannot write here: {anc} is not a folder")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchsimError(f"{path}: cannot create the folder {path.parent} ({exc.strerror or exc})") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ArchsimError(f"{path}: cannot write into {path.parent} (permission denied)")


def check_output_dir(path: str | Path, *, create: bool = False) -> Path:
    """Check an output folder (``-o DIR``) before anything is written: it must be new, empty, or
    a previous archsim output (see :func:`is_archsim_output`). ``create``: make it now (an empty
    folder stays a valid output folder). Returns the path; raises ArchsimError naming it."""
    path = Path(path)
    if str(path) in ("", "."):
        path = Path(".")
    resolved = path.resolve()
    why = _protected(resolved)
    if why:
        raise ArchsimError(f"{path}: not a valid output folder: it {why}; give a new folder")
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ArchsimError(f"{path}: exists and is not a folder; archsim never replaces a file with "
                               "an output folder (give a new folder name)")
        try:
            empty = not any(path.iterdir())
        except OSError as exc:
            raise ArchsimError(f"{path}: cannot read the output folder ({exc.strerror or exc})") from None
        if not empty and not is_archsim_output(path):
            raise ArchsimError(f"{path}: holds files that are not an archsim output (no {OUTPUT_MARKER}); "
                               "archsim replaces only its own outputs: give a new or empty folder")
        if not os.access(path, os.W_OK | os.X_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
            raise ArchsimError(f"{path}: cannot write the output folder (permission denied)")
        return path
    _make_parent(path)
    if create:
        try:
            path.mkdir()
        except OSError as exc:
            raise ArchsimError(f"{path}: cannot create the output folder ({exc.strerror or exc})") from None
    return path


def mark_output_dir(path: str | Path, kind: str) -> None:
    """Write the output marker into a folder archsim writes into in place (sweeps, reports)."""
    path = Path(path)
    if not (path / OUTPUT_MARKER).is_file():
        _write_marker(path, kind)


def _write_marker(folder: Path, kind: str) -> None:
    from archsim import __version__
    (folder / OUTPUT_MARKER).write_text(f"archsim {__version__} {kind}\n"
                                        "This folder is an archsim output; rerunning archsim may replace it.\n")


def check_output_file(path: str | Path, kind: str, is_previous: Callable[[Path], bool] | None = None) -> Path:
    """Check an output file (``-o FILE``): its folder is created if needed; the path must not be
    a folder; an existing file is replaced only if ``is_previous(path)`` says it is a previous
    output of this ``kind``. Returns the path; raises ArchsimError naming it."""
    path = Path(path)
    if path.is_dir():
        raise ArchsimError(f"{path}: is a folder; give the name of the {kind} file to write")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise ArchsimError(f"{path}: exists and is not a regular file; give another name")
        ok = False
        if is_previous is not None:
            try:
                ok = bool(is_previous(path))
            except Exception:   # noqa: BLE001 - anything unreadable is not a previous output
                ok = False
        if not ok:
            raise ArchsimError(f"{path}: exists and is not a previous archsim {kind}; archsim never "
                               "replaces a file it did not write (remove it or give another name)")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise ArchsimError(f"{path}: cannot write into {path.parent} (permission denied)")
        return path
    _make_parent(path)
    return path
