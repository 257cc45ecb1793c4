"""The clinical engine's building blocks: knowledge loading, code and text matching, order
classification, evidence extraction from the chart, and the suggested CT order.

Clinical content (codes, patterns, wording, rules) lives in hooks/knowledge/ so it can be changed
without touching Python; this package only holds the logic that reads it.
"""

from .knowledge import Knowledge, load_knowledge

__all__ = ["Knowledge", "load_knowledge"]
