"""Network modules with the official state-dict keys, and their configs; no samplers, no pipeline."""

__all__: list[str] = []
