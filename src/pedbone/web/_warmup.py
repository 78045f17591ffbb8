"""Warm-up before the server says it is ready: nothing slow is left for the first request.

Run once per worker process from the application's lifespan (before uvicorn accepts a
connection, and before ``/health`` answers ``ok``). Every step is cached for the life of the
process, so later calls (another app in the same process, the tests) cost next to nothing:

- every reference pack (built-in and installed) is loaded and each measure compiled for both
  the array engine and the scalar fast path;
- the translation catalogues are compiled and the Babel locales parsed, for every language;
- every Jinja template is compiled, for every language's environment;
- the bibliography is parsed, and (given the database) the overview's queries are compiled
  by SQLAlchemy (its ORM set-up, ~0.3 s, used to fall on the first overview);
- ``scipy.special`` is imported (~0.8 s): the harms page's exact Clopper-Pearson interval and
  centiles of long arrays use it. Nothing else heavy (``scipy.stats``, matplotlib, WeasyPrint)
  is imported by a page; the PDF report imports WeasyPrint when one is asked for.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

__all__ = ["warm_up"]

log = logging.getLogger("pedbone.web")


def warm_up(db: Any = None) -> dict[str, float]:
    """Do the start-up work (with ``db``, a :class:`pedbone.store.Database`, also compile the
    overview's queries); returns the seconds each step took (for the log)."""
    timings: dict[str, float] = {}

    def step(name: str, start: float) -> float:
        now = time.perf_counter()
        timings[name] = now - start
        return now

    t = time.perf_counter()
    from pedbone.references import available, reference

    for summary in available():
        try:
            reference(summary.id).warm()
        except Exception as exc:  # an installed pack that cannot load fails its own requests
            log.warning("reference pack %s not loaded at start-up: %s", summary.id, exc)
    t = step("reference packs", t)

    from pedbone.web._i18n import (
        LANGUAGES,
        format_date,
        format_datetime,
        format_month,
        format_number,
        translations,
    )

    day = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    for language in LANGUAGES:  # catalogues, and Babel's locale data behind the formats
        translations(language)
        format_number(1.5, language)
        format_date(day.date(), language)
        format_month(day.date(), language)
        format_datetime(day, language)
    t = step("translations", t)

    from pedbone.bibliography import sources

    sources()  # the findings' citations (YAML, parsed once)
    t = step("bibliography", t)

    import pedbone.web._cache
    import pedbone.web._overview  # noqa: F401  (the overview's modules, imported lazily)
    from pedbone.web._render import environment

    for language in LANGUAGES:
        env = environment(language)
        for name in env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt"))):
            env.get_template(name)
    t = step("templates", t)

    import scipy.special  # noqa: F401  (see the module docstring)

    t = step("scipy.special", t)
    if db is not None:
        from pedbone.web._load import warm_up_queries

        try:
            with db.session() as session:
                warm_up_queries(session)
        except Exception as exc:  # a database problem is reported by /health and the pages
            log.warning("overview queries not compiled at start-up: %s", exc)
        step("database queries", t)
    log.info("warm-up done: %s", ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()))
    return timings
