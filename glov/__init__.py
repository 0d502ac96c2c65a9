"""GLOV: LLMs as implicit optimizers of vision-language prompts, as a plain library.

Layers, top down (each imports only those below; `make lint` enforces it):
runs (a run in a store: loop, steps, report) > search (the optimiser) >
metrics > llm | vlm > data > store > config > digests | errors | templates.
Nothing here imports Kubeflow: components/ and pipelines/ build on this.
"""
