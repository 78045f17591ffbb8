"""Options of the assessment engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from pedbone.clinical.nutrition import Body, Scheme

__all__ = ["AssessOptions"]


@dataclass(frozen=True, slots=True)
class AssessOptions:
    """Choices a clinic makes once; the defaults follow the sources named.

    * ``vitamin_d_scheme``: thresholds for 25-OH-D status (default Global Consensus [S68]).
    * ``intake_body``: calcium / vitamin D intake tables, 'iom' [S70] or 'efsa' [S71].
    * ``growth_pack``: reference pack for height-for-age Z (default 'cdc2000').
    * ``dxa_packs``: site → reference pack id used to compute aBMD Z-scores from raw values
      (e.g. ``{"leg": "schafmeyer2022"}``); sites not listed use the reported Z-scores.
    * ``dxa_groups``: site → population group for packs that have groups (e.g.
      ``{"leg": "white"}`` for Schafmeyer 2022); without it such a pack cannot score the site.
    * ``short_stature_haz``: a HAZ at or below which the child counts as short, so that a
      size-adjusted Z-score is used [S3]. The sources give no cut-off, so there is no default:
      without it only a recorded diagnosis (short stature, growth delay, delayed puberty,
      hypogonadism, premature ovarian insufficiency) triggers size adjustment.
    """

    vitamin_d_scheme: Scheme = "global_consensus"
    intake_body: Body = "iom"
    growth_pack: str = "cdc2000"
    dxa_packs: dict[str, str] = field(default_factory=dict)
    dxa_groups: dict[str, str] = field(default_factory=dict)
    short_stature_haz: float | None = None
