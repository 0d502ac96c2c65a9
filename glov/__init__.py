"""GLOV: LLMs as implicit optimizers of vision-language prompts."""
