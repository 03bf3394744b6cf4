"""Samplers: noise schedules and the steps that walk them; torch only, no networks."""

__all__: list[str] = []
