"""Panels other domains add to the case page, so each keeps its own template and queries.

A domain registers a panel when its ``web.py`` is imported::

    case_panel(CasePanel(name="remedies", template="remedies/_case_panel.html",
                         area="sidebar", order=20, context=remedies_context))

``context(session, user, case)`` runs inside the case page's read session and returns the
variables its template needs; the template sees them as ``panel`` (``panel.remedies`` ...)
along with everything the case page has (``case``, ``customer``, ``csrf_token``...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

PanelContext = Callable[[Session, Any, Any], dict[str, Any]]


@dataclass(frozen=True)
class CasePanel:
    name: str
    template: str
    context: PanelContext
    # "main": under the conversation, above the reply form; "sidebar": beside it.
    area: Literal["main", "sidebar"] = "sidebar"
    order: int = 50


CASE_PANELS: dict[str, CasePanel] = {}


def case_panel(panel: CasePanel) -> CasePanel:
    CASE_PANELS[panel.name] = panel
    return panel


def panels_for(
    session: Session, user: Any, case: Any
) -> dict[str, list[tuple[CasePanel, dict[str, Any]]]]:
    """Each area's panels in order, with their context."""
    areas: dict[str, list[tuple[CasePanel, dict[str, Any]]]] = {"main": [], "sidebar": []}
    for panel in sorted(CASE_PANELS.values(), key=lambda p: (p.order, p.name)):
        areas[panel.area].append((panel, panel.context(session, user, case)))
    return areas
