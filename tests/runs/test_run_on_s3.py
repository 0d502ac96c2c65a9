"""A whole run against real S3 (nanio on 127.0.0.1), through the CLI.

The server is killed while the run is in flight: the run fails with a clear
object-store error, nothing corrupt is left, and after a restart `--resume`
continues without recomputing finished steps. A second run on the same store
reads the image features the first one published.
"""

from __future__ import annotations

import json
import threading
import time

from cli.main import main
from glov.config import load_config
from glov.data.bundle import DataBundle
from glov.store.s3 import S3Store
from glov.vlm.clip import ClipScorer
from glov.vlm.shared_features import StoreFeatureCache
from tests.tiny_run import tiny_run

ARM = "glov-noguide"


def _args(test_cache_dir, run_cache, steps: int) -> list[str]:
    sets = tiny_run(
        run_cache,
        "store.uri=s3://glov/runs",
        "store.retry_attempts=3",
        "store.retry_base_seconds=0.05",
        "store.retry_max_seconds=0.2",
        "store.timeout_seconds=5",
        "search.method=glov-noguide",
        steps=steps,
    )
    return ["run", "--config", "smoke"] + [a for s in sets for a in ("--set", s)]


def served_lines(server, bucket: str, key: str) -> int:
    """Lines of the object as the server would serve it after a restart.

    nanio renames the new bytes into place and only then writes the sidecar
    with their size and checksum, then answers the PUT. A kill between the two
    leaves the new bytes on disk but the old sidecar, so the server serves the
    old version (its first `size` bytes): that write was never acknowledged and
    its step never counted as finished. Watching the data file alone killed the
    server in that window under load and left 1 finished step, not 2.
    """
    data = server.object_path(bucket, key)
    meta = server.root / bucket / ".nanio-meta" / f"{key}.json"
    try:
        size = json.loads(meta.read_bytes())["size"]
        return data.read_bytes()[:size].count(b"\n")
    except (OSError, ValueError, KeyError):
        return 0  # not written yet, or caught mid-rename


def _link_llm_cache(test_cache_dir, run_cache):
    # Reuse the converted SmolLM2 of the test cache; features start cold.
    (run_cache / "llm").parent.mkdir(parents=True, exist_ok=True)
    (run_cache / "llm").symlink_to(test_cache_dir / "llm", target_is_directory=True)
    (run_cache / "datasets").symlink_to(test_cache_dir / "datasets", target_is_directory=True)


def test_server_killed_mid_run_then_resume(server, tmp_path, test_cache_dir, smollm2, capsys):
    run_cache = tmp_path / "cache-a"
    run_cache.mkdir()
    _link_llm_cache(test_cache_dir, run_cache)
    key = f"runs/r1/arms/{ARM}/steps.jsonl"

    def kill_after_step_1():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if served_lines(server, "glov", key) >= 2:
                server.kill()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_after_step_1)
    killer.start()
    rc = main(_args(test_cache_dir, run_cache, steps=3) + ["--run-dir", "s3://glov/runs/r1"])
    killer.join()
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "unreachable" in err and "GLOV_S3_ENDPOINT" in err
    assert "Traceback" not in err

    server.start()
    store = S3Store.from_uri("s3://glov/runs/r1")
    finished = store.read_text(f"arms/{ARM}/steps.jsonl").splitlines()
    assert 2 <= len(finished) <= 3
    # Every object left behind is complete: each read verifies its sha256.
    for key in store.list():
        store.read_bytes(key)

    rc = main(_args(test_cache_dir, run_cache, steps=3) + ["--resume", "r1"])
    assert rc == 0, capsys.readouterr().err
    after = store.read_text(f"arms/{ARM}/steps.jsonl").splitlines()
    assert len(after) == 4
    assert after[: len(finished)] == finished  # finished steps were not recomputed
    assert store.exists("report.json") and store.exists("fitness.png")

    # The image features were published beside the runs: a scorer with an
    # empty local cache reads them back from the store instead of recomputing.
    shared = S3Store.from_uri("s3://glov/runs/_cache/features")
    assert shared.list()
    data = DataBundle.from_json(json.loads(store.read_text("data.json")))
    cfg = load_config("smoke", ["vlm.model=glov-tiny-vit", "vlm.pretrained=null"])
    scorer = ClipScorer(cfg.vlm, tmp_path / "cache-b", StoreFeatureCache(shared))
    scorer.image_features(data.fitness)
    scorer.image_features(data.test)
    assert (scorer.cache_hits, scorer.cache_misses) == (2, 0)
