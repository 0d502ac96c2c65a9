"""A small dual encoder trained here, offline: `build://NAME` weights (glov build-vlm).

- recipe.py: the recipes (what is trained, on what, how) and their content keys
- train.py: the contrastive training of an image tower against a locked text tower
- build.py: building once per content key under run.cache_dir, behind a file lock,
  and describing the weights for the report
"""

from glov.vlm.training.build import (
    BUILD_PREFIX,
    built_checkpoint,
    describe_weights,
    ensure_built,
    is_build_uri,
)
from glov.vlm.training.recipe import RECIPES, Recipe, recipe_for

__all__ = [
    "BUILD_PREFIX",
    "RECIPES",
    "Recipe",
    "built_checkpoint",
    "describe_weights",
    "ensure_built",
    "is_build_uri",
    "recipe_for",
]
