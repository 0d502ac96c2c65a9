"""The global history of scored templates, kept ranked by fitness.

Ties keep insertion order (earlier first), so ranking is deterministic and a
resumed run rebuilds exactly the same history from its step records.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.templates import normalise


@dataclass(frozen=True)
class Scored:
    template: str
    fitness: float
    step: int


class History:
    def __init__(self, entries: list[Scored] | None = None):
        self._entries: list[Scored] = []
        for entry in entries or []:
            self.add(entry)

    def add(self, entry: Scored) -> None:
        # Insert after every entry with fitness >= this one: stable ranking.
        index = len(self._entries)
        for i, other in enumerate(self._entries):
            if entry.fitness > other.fitness:
                index = i
                break
        self._entries.insert(index, entry)

    def extend(self, entries: list[Scored]) -> None:
        for entry in entries:
            self.add(entry)

    @property
    def ranked(self) -> list[Scored]:
        return list(self._entries)

    def best(self) -> Scored:
        if not self._entries:
            raise IndexError("history is empty")
        return self._entries[0]

    def top(self, n: int) -> list[Scored]:
        return self._entries[:n]

    def known(self) -> set[str]:
        return {normalise(e.template) for e in self._entries}

    def pairs(self) -> list[tuple[str, float]]:
        return [(e.template, e.fitness) for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)
