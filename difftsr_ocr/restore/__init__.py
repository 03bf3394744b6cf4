"""Restorers: a degraded line crop in, a restored crop at the restorer's working resolution out."""

__all__: list[str] = []
