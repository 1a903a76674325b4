"""Tiny random Sa2VA checkpoints in the official on-disk layout, for tests and benchmarks (not inference):
`tiny_checkpoint.py` writes one of any family, `tiny_internvl.py` the InternVL one, `tiny_parts.py` holds
what they share."""
