"""What every section of the model report shares: the section titles, the chart colours and the registry figures."""

from __future__ import annotations

from typing import Any

from predelinquency.report import html as H

SECTIONS = {
    "purpose": "1. Purpose and scope",
    "data": "2. Data",
    "features": "3. Features",
    "method": "4. Method",
    "performance": "5. Out-of-time performance",
    "stability": "6. Stability since it became champion",
    "fairness": "7. Fairness",
    "comparison": "8. Comparison with the champion at the time",
    "limitations": "9. Limitations",
}
NAVY, ORANGE, GREY = "#13315c", "#e07a1f", "#8a94a3"


def value_at(tree: Any, path: str) -> Any:
    """The value at a dotted path in nested dicts and lists; None when any step is missing."""
    for step in path.split("."):
        if isinstance(tree, dict):
            tree = tree.get(step)
        elif isinstance(tree, list) and step.isdigit() and int(step) < len(tree):
            tree = tree[int(step)]
        else:
            return None
    return tree


def tagged(row: dict[str, Any], path: str, digits: int = 4) -> str:
    """A registry figure of the version ('metrics.oot_auc', 'params.split.test.rows'), tagged with its path."""
    return H.figure(value_at(row, path), path, digits)
