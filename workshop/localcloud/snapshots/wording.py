"""How the saved state is described to a learner: ages, sizes, what it holds."""

from __future__ import annotations


def describe_age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def describe_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def describe_summary(summary: dict[str, int]) -> str:
    def count(n: int, one: str, many: str | None = None) -> str:
        return f"{n} {one if n == 1 else (many or one + 's')}"

    parts = [
        count(summary.get("tables", 0), "table") + f" ({count(summary.get('items', 0), 'item')})",
        count(summary.get("functions", 0), "function"),
        count(summary.get("roles", 0), "role"),
        count(summary.get("rest_apis", 0), "REST API"),
        count(summary.get("log_groups", 0), "log group"),
    ]
    return ", ".join(parts)
