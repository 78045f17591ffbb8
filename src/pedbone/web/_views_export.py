"""Pseudonymised export for research (every role may export; nothing identifying leaves)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from pedbone.web._render import render
from pedbone.web._security import WebUser, current_user

router = APIRouter()


@router.get("/export")
def export_page(request: Request, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    """What the export contains, and the download button."""
    return render(request, "export.html")


@router.get("/export/pseudonymised.json")
def export_json(
    request: Request,
    user: Annotated[WebUser, Depends(current_user)],
    include_demo: bool = False,
) -> Response:
    """All patients as the store's pseudonymised view (JSON), as a file download."""
    from pedbone.store import pseudonymised_patients
    from pedbone.web._data import _actor

    db = request.app.state.db
    actor = _actor(db, user)
    with db.session(actor) as session:
        rows = pseudonymised_patients(session, actor, include_demo=include_demo)
    body = json.dumps(
        {"format": "pedbone-pseudonymised/1", "patients": rows},
        ensure_ascii=False,
        indent=1,
        default=str,
    )
    name = f"pedbone-pseudonymised-{dt.date.today().isoformat()}.json"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
