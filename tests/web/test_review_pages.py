"""Review pages: who may see them, blind screening by keyboard-friendly forms, conflicts, PRISMA."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from .conftest import PASSWORD, sign_in

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RIS = (
    "TY  - JOUR\n"
    f"TI  - Pamidronate in children {PAYLOAD}\n"
    "AU  - Acott PD\nPY  - 2005\n"
    f"AB  - Bisphosphonate for children on glucocorticoids; not adults {PAYLOAD}\n"
    "KW  - pamidronate\nER  - \n"
    "TY  - JOUR\nTI  - Alendronate in adults with osteoporosis\nAU  - Other A\nPY  - 2001\nER  - \n"
).encode()


@pytest.fixture
def team(db: Any) -> dict[str, int]:
    from pedbone.review import protocol_template
    from pedbone.store import create_user, review

    ids = {}
    with db.unit_of_work() as s:
        for name, role in (
            ("reviewer1", "reviewer"),
            ("reviewer2", "reviewer"),
            ("arbiter", "clinician"),
        ):
            ids[name] = create_user(s, name, PASSWORD, role).id
        r = review.create_review(s, protocol_template())
        review.import_search(
            s, r, RIS, source="MEDLINE", searched_on=dt.date(2026, 11, 30), filename="x.ris"
        )
    return ids


SLUG = "/reviews/bisphosphonates-secondary-op"


def test_reviewer_role_sees_reviews_never_patients(client: Any, team: dict[str, int]) -> None:
    token = sign_in(client, team["reviewer1"])
    r = client.get("/patients", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/reviews"
    assert client.post("/patients/new", data={"csrf_token": token}).status_code == 403
    page = client.get("/reviews").text
    assert "Bisphosphonates for children" in page
    assert 'href="/patients"' not in page


def test_clinician_not_on_team_gets_404(client: Any, team: dict[str, int], user_ids: Any) -> None:
    sign_in(client, user_ids["doc"])
    assert client.get(SLUG).status_code == 404
    assert client.get(SLUG + "/screen/title_abstract").status_code == 404
    assert "not on the team of any review" in client.get("/reviews").text


def test_screening_is_blind_escaped_and_highlighted(client: Any, team: dict[str, int]) -> None:
    token = sign_in(client, team["reviewer1"])
    page = client.get(SLUG + "/screen/title_abstract").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert '<mark class="inc">Pamidronate</mark>' in page
    assert '<mark class="exc">adults</mark>' in page
    assert "0 of 2 decided by you" in page
    assert '<script src="/static/review.js" defer></script>' in page
    rid = int(page.split('data-record="')[1].split('"')[0])
    r = client.post(
        f"{SLUG}/screen/title_abstract/{rid}/vote",
        data={"decision": "include", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    mine = client.get(f"{SLUG}/screen/title_abstract?filter=include&record={rid}").text
    assert "Your vote: <strong" in mine
    assert "1 of 2 decided by you" in mine
    # reviewer2 sees the record without reviewer1's vote
    token2 = sign_in(client, team["reviewer2"])
    other = client.get(f"{SLUG}/screen/title_abstract?record={rid}").text
    assert "reviewer1" not in other
    assert "Your vote" not in other
    client.post(
        f"{SLUG}/screen/title_abstract/{rid}/vote",
        data={"decision": "exclude", "csrf_token": token2},
    )
    after = client.get(f"{SLUG}/screen/title_abstract?filter=all&record={rid}").text
    assert "Both reviewers have voted: reviewer1: include · reviewer2: exclude" in after
    # the conflict goes to the arbiter, who settles it with a reason
    token = sign_in(client, team["reviewer1"])
    undo = client.post(
        f"{SLUG}/screen/title_abstract/{rid}/undo",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert "locked" in undo.headers["location"]
    token3 = sign_in(client, team["arbiter"])
    conflicts = client.get(SLUG + "/conflicts").text
    assert f'id="conflict-{rid}-title_abstract"' in conflicts
    assert "<script>alert" not in conflicts
    r = client.post(
        f"{SLUG}/conflicts/{rid}/title_abstract",
        data={"decision": "include", "why": "children on GC", "csrf_token": token3},
        follow_redirects=False,
    )
    assert r.headers["location"].endswith("saved=1")
    settled = client.get(SLUG + "/conflicts").text
    assert "No open conflicts." in settled
    assert "arbiter: children on GC" in settled


def test_full_text_needs_reason_and_pdf_upload(client: Any, team: dict[str, int]) -> None:
    from pedbone.store import review

    db = client.app.state.db
    with db.session() as s:
        rid = (
            review.review_document(s, review.find_review(s, "bisphosphonates-secondary-op"))
            .records[0]
            .id
        )
    for who in ("reviewer1", "reviewer2"):
        token = sign_in(client, team[who])
        client.post(
            f"{SLUG}/screen/title_abstract/{rid}/vote",
            data={"decision": "include", "csrf_token": token},
        )
    r = client.post(
        f"{SLUG}/screen/full_text/{rid}/vote",
        data={"decision": "exclude", "csrf_token": token},
        follow_redirects=False,
    )
    assert "protocol%27s+reasons" in r.headers["location"]
    r = client.post(
        f"{SLUG}/records/{rid}/fulltext",
        data={"csrf_token": token},
        files={"file": ("paper.pdf", b"%PDF-1.4 minimal", "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    pdf = client.get(f"{SLUG}/records/{rid}/fulltext")
    assert pdf.content == b"%PDF-1.4 minimal"
    assert pdf.headers["content-disposition"] == 'attachment; filename="paper.pdf"'
    bad = client.post(
        f"{SLUG}/records/{rid}/fulltext",
        data={"csrf_token": token},
        files={"file": ("x.pdf", b"<html>", "application/pdf")},
        follow_redirects=False,
    )
    assert "not+a+PDF" in bad.headers["location"]


def test_prisma_page_and_files(client: Any, team: dict[str, int]) -> None:
    sign_in(client, team["arbiter"])
    page = client.get(SLUG + "/prisma").text
    assert "Provisional: 2 record(s) await title/abstract votes" in page
    assert "<code>records_screened</code></td><td>2</td>" in page
    svg = client.get(SLUG + "/prisma.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "Records screened (n = 2)" in svg.text
    assert client.get(SLUG + "/prisma.pdf").content.startswith(b"%PDF")
    assert "records_screened,node9,box4" in client.get(SLUG + "/prisma.csv").text


def test_duplicate_queue_merge_and_split(client: Any, team: dict[str, int]) -> None:
    from pedbone.store import review

    db = client.app.state.db
    near = (
        b"TY  - JOUR\nTI  - Alendronate in adults with osteoporosis.\nAU  - Another B\n"
        b"PY  - 2001\nER  - \n"
    )
    with db.unit_of_work() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        review.import_search(
            s, r, near, source="Embase", searched_on=dt.date(2026, 11, 30), filename="e.ris"
        )
    token = sign_in(client, team["reviewer1"])
    client.post(SLUG + "/duplicates", data={"csrf_token": token})
    page = client.get(SLUG + "/duplicates").text
    assert "To decide (1)" in page
    assert "first author differs" in page
    assert "<script>alert" not in page
    pair = int(page.split('id="pair-')[1].split('"')[0])
    client.post(f"{SLUG}/duplicates/{pair}", data={"duplicate": "yes", "csrf_token": token})
    page = client.get(SLUG + "/duplicates").text
    assert "To decide (0)" in page
    assert "Merged (1)" in page
    assert "by reviewer1" in page
    sign_in(client, team["arbiter"])
    assert "Duplicate records (n = 1)" in client.get(SLUG + "/prisma.svg").text


def test_import_a_search_from_the_page(client: Any, team: dict[str, int]) -> None:
    token = sign_in(client, team["reviewer1"])
    ris = (
        b"TY  - JOUR\nTI  - One more <i>record</i>\nPY  - 2010\nER  - \n"
        b"TY  - JOUR\nPY  - 1\nER  - \n"
    )
    form = {
        "csrf_token": token,
        "source": "Embase <b>x</b>",
        "searched_on": "2026-11-30",
        "kind": "database",
    }
    r = client.post(SLUG + "/import", data=form, files={"file": ("e.ris", ris, "text/plain")})
    assert r.status_code == 200
    assert "1 records imported from Embase &lt;b&gt;x&lt;/b&gt;." in r.text
    assert "line 5: record has no title" in r.text
    again = client.post(SLUG + "/import", data=form, files={"file": ("e.ris", ris, "text/plain")})
    assert again.status_code == 422
    assert "already imported as search" in again.text
    sign_in(client, team["arbiter"])
    assert "Records screened (n = 3)" in client.get(SLUG + "/prisma.svg").text
