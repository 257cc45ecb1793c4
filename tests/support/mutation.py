"""One mutation routine for the robustness test and the soak: break a request where it hurts most."""

from __future__ import annotations

import copy


def mutate(rng, node, junk: list, depth: int = 0) -> None:
    """Replace one value somewhere below `node` (a dict or list) with a copy of one of `junk`."""
    if not isinstance(node, (dict, list)) or not node:
        return
    key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
    if depth < 6 and isinstance(node[key], (dict, list)) and rng.random() < 0.6:
        mutate(rng, node[key], junk, depth + 1)
    else:
        node[key] = copy.deepcopy(rng.choice(junk))
