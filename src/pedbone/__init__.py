"""pedbone — bone health of children with chronic illness.

The top level keeps a small public API; subpackages load on first use so that
``import pedbone`` and the command line stay fast.

>>> import pedbone
>>> ref = pedbone.reference("cdc2000")
>>> ref.zscore("height", sex=["M"], age_years=[10.0], value=[138.0]).round(3)
array([-0.094])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedbone._version import __version__

if TYPE_CHECKING:
    from pedbone.clinical import assess
    from pedbone.references import reference

__all__ = ["__version__", "assess", "reference"]


def __getattr__(name: str) -> Any:
    if name == "reference":
        from pedbone.references import reference

        return reference
    if name == "assess":
        from pedbone.clinical import assess

        return assess
    raise AttributeError(f"module 'pedbone' has no attribute {name!r}")
