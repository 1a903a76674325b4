"""Chat with a time range of a video on the Video page: the range is decoded into a clip and Sa2VA answers
about its key frames (tools/sa2va_chat.py), on the shared model worker thread."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from tools.clip import decode_clip
from tools.sa2va_chat import ChatRequest, chat_about_clip
from ui.dashboard_config import model_worker

CHAT_MAX_SIDE = 448  # the LLM tiles images far smaller than this
FRAMES_DECODED = 16  # spread over the range; the model sees LLM_FRAMES of them
MAX_NEW_TOKENS = 256


class ChatTurn(BaseModel):
    question: str
    answer: str
    start_s: float = Field(description="seconds")
    end_s: float = Field(description="seconds")


def _answer(model: str | None, video: Path, start_s: float, end_s: float, question: str,
            history: list[tuple[str, str]]) -> str:
    from tools.engine_session import load_engine

    length = max(end_s - start_s, 0.1)
    clip = decode_clip(video, start_s, end_s, sample_fps=min(2.0, FRAMES_DECODED / length), max_side=CHAT_MAX_SIDE)
    reply = chat_about_clip(load_engine(model), ChatRequest(question=question, clip=clip, history=history,
                                                                max_new_tokens=MAX_NEW_TOKENS))
    return reply.text or "(no answer)"


def ask(model: str | None, video: Path, start_s: float, end_s: float, question: str,
        earlier: list[ChatTurn]) -> ChatTurn:
    """Sa2VA's answer about [start_s, end_s) seconds of ``video``; earlier turns on the same range are
    passed as history. Blocks until the model worker gets to it."""
    history = [(t.question, t.answer) for t in earlier if (t.start_s, t.end_s) == (start_s, end_s)][-3:]
    text = model_worker().submit(_answer, model, video, start_s, end_s, question, history).result()
    return ChatTurn(question=question, answer=text, start_s=start_s, end_s=end_s)
