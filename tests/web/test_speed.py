"""Speed behaviours (no timings asserted; benchmarks/bench_web.py measures): nothing heavy is
imported on a request path, the server warms up before it says it is ready."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

HEAVY = ("scipy.stats", "matplotlib", "weasyprint")

# A fresh interpreter (this test process has imported everything already): start the app,
# then render every demo patient's overview (charts included) in both languages, the patient
# list and the login page, and list what the requests imported.
_PROBE = textwrap.dedent(
    """
    import json, re, sys
    from argon2 import PasswordHasher
    import pedbone.store._security as sec
    sec._hasher = lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    from starlette.testclient import TestClient
    from pedbone.store import Database, create_user
    from pedbone.store._demo import create_demo_patients
    from pedbone.web import WebSettings, create_app

    db = Database("sqlite:///" + sys.argv[1])
    with db.unit_of_work() as s:
        create_user(s, "doc", "correct horse battery", "clinician", full_name="Doc")
        ids = [p.id for p in create_demo_patients(s)]
    app = create_app(WebSettings(secret_key="probe-" + "x" * 40), database=db)
    out = {}
    with TestClient(app) as c:
        out["health"] = c.get("/health").json()["status"]
        after_start = set(sys.modules)
        page = c.get("/login").text
        tok = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        c.post("/login", data={"username": "doc", "password": "correct horse battery",
                               "csrf_token": tok})
        codes = [c.get("/patients").status_code]
        for lang in ("en", "nl"):
            c.post("/language", data={"language": lang, "csrf_token": tok})
            codes += [c.get(f"/patients/{i}").status_code for i in ids]
        out["codes"] = codes
        out["svg"] = "<svg" in c.get(f"/patients/{ids[0]}").text
        out["new"] = sorted(set(sys.modules) - after_start)
        out["loaded"] = sorted(m for m in sys.modules if m.startswith(HEAVY))
    print(json.dumps(out))
    """
).replace("HEAVY", repr(HEAVY))


def test_no_heavy_import_on_the_overview_path(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "probe.sqlite3")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["health"] == "ok"
    assert len(out["codes"]) > 3
    assert set(out["codes"]) == {200}
    assert out["svg"]  # the charts were drawn
    assert out["loaded"] == [], out["loaded"]
    heavy_new = [m for m in out["new"] if m.split(".")[0] in {"scipy", "matplotlib", "PIL"}]
    assert heavy_new == [], heavy_new


def test_health_says_starting_until_the_warm_up_is_done(app: Any) -> None:
    from starlette.testclient import TestClient

    raw = TestClient(app)  # no "with": the lifespan (warm-up) has not run
    r = raw.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "starting"
    with TestClient(app) as client:
        r = client.get("/health")
        assert r.status_code == 200
        assert r.json()["status"] == "ok"


def test_warm_up_loads_packs_catalogues_and_templates(db: Any) -> None:
    from pedbone.references import available, reference
    from pedbone.web._i18n import LANGUAGES, translations
    from pedbone.web._render import environment
    from pedbone.web._warmup import warm_up

    timings = warm_up(db)
    assert list(timings) == [
        "reference packs",
        "translations",
        "bibliography",
        "templates",
        "scipy.special",
        "database queries",
    ]
    for summary in available():
        ref = reference(summary.id)
        assert set(ref._scalar) == set(ref.measures)  # both engines compiled
        assert set(ref._compiled) == set(ref.measures)
    hits = translations.cache_info().hits
    for language in LANGUAGES:
        translations(language)
        env = environment(language)
        cached = {key[1] for key in env.cache}  # type: ignore[union-attr]
        assert {"patient.html", "base.html", "report.html", "error.html"} <= cached
    assert translations.cache_info().hits == hits + len(LANGUAGES)
    assert "scipy.special" in sys.modules
