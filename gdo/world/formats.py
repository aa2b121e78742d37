"""Text layouts of the real formats: LLaVA turns, ``A. ...`` and ``(A) ...`` option lines."""

from __future__ import annotations

LETTERS = "ABCDEF"
# The instruction LLaVA-Video-178K multiple-choice records end their human turn with.
MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."
MEDIA_TOKEN = "<image>"


def dotted(options: list[str]) -> list[str]:
    """``["A. red", "B. blue", ...]`` (LLaVA ``Options:`` lines, Video-MME ``options``)."""
    return [f"{LETTERS[i]}. {o}" for i, o in enumerate(options)]


def parenthesised(options: list[str]) -> list[str]:
    """``["(A) red", "(B) blue", ...]`` (MLVU / LVBench option lines in the question)."""
    return [f"({LETTERS[i]}) {o}" for i, o in enumerate(options)]


def llava_mc_question(question: str, options: list[str]) -> str:
    """A LLaVA-Video multiple-choice human turn: question, ``Options:`` lines, instruction."""
    return "\n".join([question, "Options:", *dotted(options), MC_INSTRUCTION])


def llava_mc_answer(options: list[str], answer: str, style: str) -> str:
    """The gpt turn of a multiple-choice question: ``B. red`` or ``B.`` (``mc_answer``)."""
    letter = LETTERS[options.index(answer)]
    if style == "letter":
        return f"{letter}."
    if style == "letter_text":
        return f"{letter}. {answer}"
    raise ValueError(f"world.mc_answer: expected 'letter' or 'letter_text', got '{style}'")


def conversation(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    """LLaVA ``conversations``: the media token opens the first human turn."""
    out: list[dict[str, str]] = []
    for i, (human, gpt) in enumerate(turns):
        out.append({"from": "human", "value": f"{MEDIA_TOKEN}\n{human}" if i == 0 else human})
        out.append({"from": "gpt", "value": gpt})
    return out
