"""The configuration: one typed object (GlovConfig), loaded from YAML, overridable.

- section.py: the base class of every section
- schema.py: the search sections (run, data, vlm, llm, search, guidance, eval)
- store_metrics_pipeline.py: the store, metrics and pipeline sections
- kinds.py: the table of VLM kinds and objectives (what vlm.kind and objective.kind imply)
- keys.py: dotted keys over nested dicts
- load.py: profiles (profiles/*.yaml), YAML files, `key=value` overrides, validation
"""

from glov.config.load import (
    PROFILES_DIR,
    apply_override,
    config_to_yaml,
    load_config,
    profile_names,
    validate_config,
)
from glov.config.schema import (
    DataConfig,
    EvalConfig,
    GlovConfig,
    GuidanceConfig,
    LLMConfig,
    ObjectiveConfig,
    RunConfig,
    SearchConfig,
    VLMConfig,
)
from glov.config.section import Section
from glov.config.store_metrics_pipeline import (
    PUSHGATEWAY_ENV,
    MetricsConfig,
    PipelineConfig,
    StoreConfig,
    TaskResources,
    Toleration,
)

__all__ = [
    "PROFILES_DIR",
    "PUSHGATEWAY_ENV",
    "DataConfig",
    "EvalConfig",
    "GlovConfig",
    "GuidanceConfig",
    "LLMConfig",
    "MetricsConfig",
    "ObjectiveConfig",
    "PipelineConfig",
    "RunConfig",
    "SearchConfig",
    "Section",
    "StoreConfig",
    "TaskResources",
    "Toleration",
    "VLMConfig",
    "apply_override",
    "config_to_yaml",
    "load_config",
    "profile_names",
    "validate_config",
]
