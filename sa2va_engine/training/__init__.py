"""Training Sa2VA (not inference): the LoRA / full trainer, its samples, and SAM-2's pre-training on frames."""
