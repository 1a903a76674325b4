"""Training Sa2VA (not inference): the trainer (`train.py`: Sa2VA's answer and mask losses, LoRA for real
checkpoints), one training sample (`train_sample.py`), and SAM-2's pre-training on frames (`sam2_pretrain.py`)."""
