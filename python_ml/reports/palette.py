"""The classes' colours, coldest first (the report's charts and the app's): one definition."""

PALETTE = ["#4c9be8", "#f2b134", "#e8554e", "#8c6bb1", "#55a868", "#999999"]


def class_colors(names: list[str]) -> list[str]:
    """One colour per class name, in the seed's order."""
    return [PALETTE[i % len(PALETTE)] for i in range(len(names))]
