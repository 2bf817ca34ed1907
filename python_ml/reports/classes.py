"""The popularity classes as the warehouse's seed table (reference.popularity_classes, from
seeds/popularity_classes.csv) defines them: read here by the charts, the model card and the
scoring service, so a renamed class or a moved threshold reaches each of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from python_ml.reports.palette import PALETTE
from python_ml.warehouse import catalog


@dataclass(frozen=True)
class Classes:
    """The popularity classes: names, labels, thresholds, order."""

    names: list[str]
    labels: dict[str, str]  # e.g. "blazing-hot (70-100)"
    short: dict[str, str]  # e.g. "blazing-hot"

    @property
    def hit(self) -> str:
        return self.names[-1]

    def color(self, name: str) -> str:
        return PALETTE[self.names.index(name) % len(PALETTE)] if name in self.names else "#333"

    def described(self) -> str:
        """Every class with its popularity range, coldest first: "ice-cold (0-30), ..."."""
        return ", ".join(self.labels[name] for name in self.names)


def read_classes(con: Any) -> Classes:
    rows = con.execute(
        f"select class_name, class_label, min_popularity, max_popularity "
        f"from {catalog.POPULARITY_CLASSES} order by class_index"
    ).fetchall()
    return Classes(
        [r[0] for r in rows],
        {r[0]: f"{r[1]} ({r[2]}-{r[3]})" for r in rows},
        {r[0]: r[1] for r in rows},
    )
