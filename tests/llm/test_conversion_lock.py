"""Two processes (here: threads, each with its own lock file handle) converting the
same GGUF file at once: the first converts, the second waits and reuses it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from glov.llm import loader
from glov.llm.source import GGUF_MAGIC


def test_concurrent_loads_convert_a_gguf_once(tmp_path: Path, monkeypatch) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(GGUF_MAGIC + b"\0" * 64)
    calls: list[Path] = []

    def slow_convert(src: Path, target: Path, trust_remote_code: bool) -> None:
        calls.append(target)
        time.sleep(0.5)  # long enough for the other thread to find no config.json
        (target / "config.json").write_text("{}")  # target: the empty build directory

    monkeypatch.setattr(loader, "_convert_gguf", slow_convert)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(loader._cached_gguf(gguf, tmp_path, False)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(calls) == 1
    assert len(results) == 2 and results[0] == results[1]
    assert (results[0] / "config.json").is_file()
    assert not calls[0].exists(), "built in a temporary directory, then renamed into place"
