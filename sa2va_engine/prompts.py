"""Sa2VA's task phrasings, as the reference evaluation code and training data use them (facts, not style).

The chat template itself comes from the checkpoint (processor/tokenizer); these are the user turns.
"""

from __future__ import annotations

SEG_TOKEN = "[SEG]"
PHRASE_START = "<p>"
PHRASE_END = "</p>"
# Sa2VA adds these five tokens to every base model's tokenizer.
SA2VA_SPECIAL_TOKENS = ("[SEG]", "<p>", "</p>", "<vp>", "</vp>")

# Referring segmentation as the reference's demo asks it (and this project's demo model is trained on): a noun
# phrase, or a question.
REFER = "Please segment {expression}."
REFER_QUESTION = "{expression} Please respond with a segmentation mask."
# The reference's evaluation formats, which its published RefCOCO and Ref-VOS figures were computed with: its
# datasets write "<image>\n..." and its predict_forward deletes "<image>", so the user turn starts with a newline.
REFCOCO_EVAL = "\n Please segment {expression} in this image."
REF_VOS_EVAL = "\nPlease segment {expression}."
REF_VOS_EVAL_QUESTION = "\n {expression} Please respond with a segmentation mask."
# The answer Sa2VA is trained to give to a referring request; teacher-forcing it skips generation.
FORCED_ANSWER = "Sure, [SEG]."

# Grounded conversation generation (GCG evaluation).
GROUNDED_CAPTION = (
    "Could you please give me a brief description of the image? "
    "Please respond with interleaved segmentation masks for the corresponding parts of the answer."
)

# How the indexer asks for a chunk's caption (a video-chat turn; the demo model is trained on it).
VIDEO_CAPTION = "Describe what happens in this video in one or two sentences."

# Appended to a yes/no question so the first answer token is "Yes" or "No" (see Sa2VA.yes_probability).
YES_NO_SUFFIX = " Answer yes or no."

REGION_CAPTION = "Please give me a short description of the region in the red box."
# The name an indexed object is stored under, asked of the object seen up close (Sa2VA.region_names).
REGION_NAME = "What is in the red box? Answer with a short name."


def referring_prompt(expression: str) -> str:
    expression = expression.strip()
    if "?" in expression:
        return REFER_QUESTION.format(expression=expression)
    return REFER.format(expression=expression.rstrip("."))


def evaluation_prompt(expression: str, benchmark: str) -> str:
    """The reference's evaluation question for ``benchmark`` ("refcoco" or "ref_vos"), the expression as the
    dataset gives it (not stripped), for reproducing its published figures."""
    if benchmark == "refcoco":
        return REFCOCO_EVAL.format(expression=expression)
    if benchmark == "ref_vos":
        return (REF_VOS_EVAL_QUESTION if "?" in expression else REF_VOS_EVAL).format(expression=expression)
    raise ValueError(f"benchmark {benchmark!r}: use 'refcoco' or 'ref_vos'")
