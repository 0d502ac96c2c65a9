"""Prompts shared by the generative-VLM tests."""

PROMPTS = [
    "Describe the category present in this image briefly and also identify the name of "
    "the category present.",
    "What is it",
    "A photo of a {}.",
    "Name the main object in one word.",
    "Which colour dominates this picture, and what shape is drawn in its corner",
]
