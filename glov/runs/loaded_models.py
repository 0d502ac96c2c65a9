"""The models of a run, loaded once per process on first use.

The VLM scorer (with its image-feature caches), the optimizer LLM and the
steering vectors of its guidance pairs. A pipeline task that only ranks loads
neither; the loop and a fused step load each once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glov.config import GlovConfig, kinds
from glov.errors import ConfigError
from glov.runs.inputs import cache_dir, with_local_inputs
from glov.runs.rundir import RunDir
from glov.search.arms import arms_for
from glov.store.model_share import ModelShare, model_share

if TYPE_CHECKING:
    from glov.llm.loader import LoadedLLM
    from glov.search.steering import SteeringVectors
    from glov.vlm.scorer import Scorer
    from glov.vlm.shared_features import StoreFeatureCache

# Under the store root, beside the run directories: shared by every run there.
SHARED_FEATURES = "_cache/features"


def shared_feature_cache(run: RunDir | None) -> StoreFeatureCache | None:
    """Image features also go to the run's store when it is remote (pods share them)."""
    if run is None or run.store.local_path("") is not None:
        return None
    from glov.vlm.shared_features import StoreFeatureCache

    root = getattr(run.store, "inner", run.store)
    return StoreFeatureCache(root.child(SHARED_FEATURES))


def steering_vectors(cfg: GlovConfig, llm: LoadedLLM) -> SteeringVectors:
    """The steering vectors of `llm` at guidance.layer: the layer is resolved here, once,
    and a value that does not fit the model is a config error naming the key."""
    from glov.search.steering import SteeringVectors

    try:
        return SteeringVectors(llm, cfg.guidance.layer)
    except ValueError as exc:
        raise ConfigError(
            f"guidance.layer={cfg.guidance.layer!r} does not fit the optimizer LLM "
            f"{cfg.llm.model} ({exc})",
            f"set guidance.layer to an index from 0 to {llm.num_layers - 1}, or a depth "
            "fraction in (0, 1) such as 0.55",
        ) from None


def check_model_paths(cfg: GlovConfig) -> None:
    """The local model files and directories the config names exist and look right.

    Nothing loads: a run calls this before it creates anything, so a mistyped
    path is refused before the run directory exists. s3:// inputs are checked
    once downloaded (with_local_inputs).
    """
    from glov.llm.source import check_local_source

    if not cfg.llm.model.startswith("s3://"):
        check_local_source(cfg.llm)
    if cfg.vlm.kind == "generative":
        from glov.vlm.generative.source import check_local_model

        if not cfg.vlm.model.startswith("s3://"):
            check_local_model(cfg.vlm.model)
    elif not str(cfg.vlm.pretrained).startswith("s3://"):
        from glov.vlm.clip_files import check_local_files

        check_local_files(cfg.vlm)


class Models:
    """Loads the VLM scorer, the optimizer LLM and its steering vectors once, on first use.

    `scorer` and `llm` may be given ready-made (tests, benchmarks).
    """

    def __init__(
        self,
        cfg: GlovConfig,
        scorer: Scorer | None = None,
        llm: LoadedLLM | None = None,
        run: RunDir | None = None,
    ):
        self.cfg = cfg
        self.run = run
        self._scorer = scorer
        self._llm = llm
        self._steering: SteeringVectors | None = None

    @property
    def model_share(self) -> ModelShare | None:
        """Where built models (GGUF conversions, `build://` VLMs) are fetched from before
        building them: the run store's share when it is remote."""
        return model_share(self.run.store if self.run is not None else None)

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            # The objective's scorer if it has one (safety), else the VLM kind's.
            build = kinds.load(self.cfg.objective_kind.scorer or self.cfg.vlm_kind.scorer)
            vlm = with_local_inputs(self.cfg).vlm
            self._scorer = build(
                vlm,
                self.cfg.objective,
                cache_dir(self.cfg),
                shared_feature_cache(self.run),
                self.model_share,
            )
        return self._scorer

    @property
    def llm(self) -> LoadedLLM:
        if self._llm is None:
            from glov.llm.loader import load_llm

            llm = load_llm(with_local_inputs(self.cfg).llm, cache_dir(self.cfg), self.model_share)
            # A layer that does not fit the model fails now, as the model loads,
            # not when guidance first switches on (possibly hours into a run).
            if any(arm.steers for arm in arms_for(self.cfg)):
                self._steering = steering_vectors(self.cfg, llm)
            self._llm = llm
        return self._llm

    @property
    def steering(self) -> SteeringVectors:
        """Steering vectors at guidance.layer, resolved once against the loaded LLM."""
        if self._steering is None:
            self._steering = steering_vectors(self.cfg, self.llm)
        return self._steering

    def cache_counts(self) -> tuple[int, int]:
        """The scorer's image-feature cache (hits, misses) so far."""
        return self.scorer.cache_hits, self.scorer.cache_misses
