"""Record (or check) the sha256 of every validation fixture under tests/**/fixtures/.

Validation fixtures hold expected values produced by a reference implementation (R metafor, R's
binom.test, ...) or a generating script kept beside them. They are never edited by hand. The
manifest makes any change visible: `make test` fails until the manifest is updated, which is a
deliberate step with a reason in the commit message.

    python tools/fixture_manifest.py          # check (exit 1 on any difference)
    python tools/fixture_manifest.py --update # rewrite tests/fixtures.sha256 after regenerating
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tests" / "fixtures.sha256"


def fixture_files() -> list[Path]:
    files = [
        p
        for p in (ROOT / "tests").rglob("*")
        if p.is_file() and "fixtures" in p.relative_to(ROOT).parts and "__pycache__" not in p.parts
    ]
    return sorted(files)


def current() -> dict[str, str]:
    return {
        p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in fixture_files()
    }


def recorded() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            out[name] = digest
    return out


def differences() -> list[str]:
    now, then = current(), recorded()
    problems = [f"not in the manifest: {n}" for n in sorted(now.keys() - then.keys())]
    problems += [f"missing file: {n}" for n in sorted(then.keys() - now.keys())]
    problems += [f"changed: {n}" for n in sorted(now.keys() & then.keys()) if now[n] != then[n]]
    return problems


def main() -> int:
    if "--update" in sys.argv[1:]:
        lines = [
            "# sha256 of every validation fixture; update only with tools/fixture_manifest.py",
            "# --update after regenerating a fixture with its script, and say why in the commit.",
        ]
        lines += [f"{digest}  {name}" for name, digest in current().items()]
        MANIFEST.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{len(lines) - 2} fixtures recorded in {MANIFEST.relative_to(ROOT)}")
        return 0
    problems = differences()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
