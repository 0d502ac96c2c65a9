"""The optimizer LLM: loading, meta-prompts, sampling, answer parsing, steering.

Submodules are imported directly (`from glov.llm.loader import load_llm`); this
package file stays empty so that importing one piece does not pull in
transformers for the others.
"""
