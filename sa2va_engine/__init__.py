"""The Sa2VA model, inference only: checkpoints, VLM families, SAM-2 with a language prompt, the `Sa2VA` API.
Beside it and never imported by it: `training/`, `synthetic/` (the synthetic world and the demo-model recipe)
and `testing/` (tiny checkpoints); the shipped demo weights are the data folder `demo_model/`."""
