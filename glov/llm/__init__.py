"""The optimizer LLM: loading, meta-prompts, sampling, answer parsing, steering.

Modules: ``loader`` (load_llm), ``metaprompt``, ``sampling`` (sample),
``parser`` and the ``steering`` subpackage (``steering.vector``: layers and
steering vectors; ``steering.decode``: steered generation; ``steering.steppers``:
its decoding loops).

Submodules are imported directly (`from glov.llm.loader import load_llm`); this
package file stays empty so that importing one piece does not pull in
transformers for the others.
"""
