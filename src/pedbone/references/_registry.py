"""Where packs live: built-in package data and the per-user data folder.

Built-in packs ship as package data (``pedbone/references/packs/<id>/``) and are read through
:mod:`importlib.resources`. User packs are installed into ``<data dir>/packs/<id>/`` where the
data dir is ``$PEDBONE_DATA_DIR`` if set, else ``platformdirs.user_data_dir("pedbone")``.
Nothing is read until a pack is asked for; loaded packs are cached.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

from pedbone.references._engine import ReferencePack
from pedbone.references._pack import (
    AGE_UNITS,
    PackError,
    Problem,
    parse_pack,
)

__all__ = [
    "PackSummary",
    "UnknownReferenceError",
    "available",
    "data_dir",
    "install",
    "reference",
    "uninstall",
    "validate",
]

ENV_DATA_DIR = "PEDBONE_DATA_DIR"
_CACHE: dict[tuple[str, str, float], ReferencePack] = {}
_LOCK = threading.Lock()
_EXTRA_FILES = ("PROVENANCE.md", "README.md")


class UnknownReferenceError(LookupError):
    """No built-in or installed pack has this id."""


def data_dir() -> Path:
    """The per-user pedbone data folder (``$PEDBONE_DATA_DIR`` overrides)."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("pedbone", appauthor=False))


def _builtin_root() -> Traversable:
    return resources.files("pedbone.references") / "packs"


@cache
def _builtin_ids() -> tuple[str, ...]:
    root = _builtin_root()
    return tuple(
        sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "pack.yaml").is_file())
    )


def builtin_ids() -> list[str]:
    """Ids of the packs shipped with pedbone."""
    return list(_builtin_ids())


def _user_root() -> Path:
    return data_dir() / "packs"


def user_ids() -> list[str]:
    """Ids of packs installed in the user data folder."""
    root = _user_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "pack.yaml").is_file())


def _load(location: Traversable, source: str, *, builtin: bool) -> ReferencePack:
    meta, tables = parse_pack(lambda name: (location / name).read_bytes(), source)
    return ReferencePack(meta, tables, builtin=builtin)


def reference(pack_id: str) -> ReferencePack:
    """Load a reference pack by id: built-in (``who2006``, ``who2007``, ``cdc2000``,
    ``schafmeyer2022``) or installed with ``pedbone refs install``.

    A path to a pack folder is accepted too (for trying a pack before installing it).
    """
    if pack_id in _builtin_ids():
        key = ("builtin", pack_id, 0.0)
        with _LOCK:
            pack = _CACHE.get(key)
        if pack is None:
            pack = _load(_builtin_root() / pack_id, f"built-in pack {pack_id!r}", builtin=True)
            with _LOCK:
                _CACHE[key] = pack
        return pack
    folder = _user_root() / pack_id
    if not (folder / "pack.yaml").is_file():
        candidate = Path(pack_id)
        if (candidate / "pack.yaml").is_file():
            folder = candidate
        else:
            known = builtin_ids() + user_ids()
            raise UnknownReferenceError(
                f"no reference pack {pack_id!r}; available: {', '.join(known)} "
                f"(install your own with 'pedbone refs install PATH')"
            )
    yaml_path = folder / "pack.yaml"
    stamp = yaml_path.stat().st_mtime
    key = ("user", str(folder.resolve()), stamp)
    with _LOCK:
        pack = _CACHE.get(key)
    if pack is None:
        pack = _load(folder, str(folder), builtin=False)
        with _LOCK:
            _CACHE[key] = pack
    return pack


@dataclass(frozen=True, slots=True)
class PackSummary:
    """One entry of :func:`available`: id, title and coverage (years) per measure."""

    id: str
    title: str
    builtin: bool
    synthetic: bool
    groups: tuple[str, ...]
    coverage: dict[str, tuple[float, float]]

    def __str__(self) -> str:
        cov = ", ".join(f"{m} {lo:g}-{hi:g} y" for m, (lo, hi) in self.coverage.items())
        return f"{self.id}: {self.title} [{cov}]"


def _summary(text: str, *, builtin: bool) -> PackSummary | None:
    """The summary of a ``pack.yaml`` text; parsed once per distinct text (the YAML parser
    costs ~25 ms a pack, and the web pages ask which packs have a measure), and a fresh copy
    each call so no caller can change the cached one."""
    cached = _parse_summary(text, builtin)
    return None if cached is None else replace(cached, coverage=dict(cached.coverage))


@lru_cache(maxsize=256)
def _parse_summary(text: str, builtin: bool) -> PackSummary | None:
    try:
        raw = yaml.safe_load(text)
        f = AGE_UNITS[raw["age_unit"]]
        cov = {
            str(m): (float(i["age_min"]) / f, float(i["age_max"]) / f)
            for m, i in raw["measures"].items()
        }
        return PackSummary(
            id=str(raw["id"]),
            title=str(raw["title"]),
            builtin=builtin,
            synthetic=bool(raw.get("synthetic", False)),
            groups=tuple(raw.get("groups") or ()),
            coverage=cov,
        )
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError):
        return None


def available() -> list[PackSummary]:
    """All packs (built-in first, then installed), with titles and coverage; reads only
    the metadata, never the tables. Unreadable installed packs are skipped (use
    :func:`validate` to see why)."""
    out: list[PackSummary] = []
    for pid in builtin_ids():
        s = _summary((_builtin_root() / pid / "pack.yaml").read_text("utf-8"), builtin=True)
        if s is not None:
            out.append(s)
    for pid in user_ids():
        s = _summary((_user_root() / pid / "pack.yaml").read_text("utf-8"), builtin=False)
        if s is not None:
            out.append(s)
    return out


def uninstall(pack_id: str) -> Path:
    """Remove an installed user pack; built-in packs cannot be removed. Returns its folder."""
    if pack_id in _builtin_ids():
        raise PermissionError(f"pack {pack_id!r} is built in and cannot be removed")
    target = _user_root() / pack_id
    if not re.fullmatch(r"[a-z][a-z0-9_]*", pack_id) or not (target / "pack.yaml").is_file():
        raise UnknownReferenceError(f"no installed pack {pack_id!r} in {_user_root()}")
    shutil.rmtree(target)
    return target


def _pack_folder(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.parent if p.name == "pack.yaml" else p


def validate(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in the pack at ``path`` (a folder or its ``pack.yaml``); [] if valid."""
    folder = _pack_folder(path)
    try:
        parse_pack(lambda name: (folder / name).read_bytes(), str(folder))
    except PackError as exc:
        return exc.problems
    return []


def install(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Validate the pack at ``path`` and copy it into the user data folder.

    Raises PackError (with every problem) if invalid, FileExistsError if the id is taken
    (``force=True`` replaces an installed user pack; built-in ids can never be replaced).
    Returns the installed folder.
    """
    folder = _pack_folder(path)
    meta, _tables = parse_pack(lambda name: (folder / name).read_bytes(), str(folder))
    if meta.id in builtin_ids():
        raise FileExistsError(f"pack id {meta.id!r} is built in; give your pack another id")
    target = _user_root() / meta.id
    if target.exists() and not force:
        raise FileExistsError(f"pack {meta.id!r} is already installed at {target} (use --force)")
    tmp = target.with_name(f".{meta.id}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    shutil.copy2(folder / "pack.yaml", tmp / "pack.yaml")
    (tmp / meta.table).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(folder / meta.table, tmp / meta.table)
    for extra in _EXTRA_FILES:
        if (folder / extra).is_file():
            shutil.copy2(folder / extra, tmp / extra)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target
