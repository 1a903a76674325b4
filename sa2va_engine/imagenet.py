"""ImageNet channel statistics: SAM-2 and InternViT both normalise RGB in [0, 1] with them."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
