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


# Layouts of a multiple-choice human turn (``world.mc_styles``): question prefix, options
# header, option lines, instruction. ``llava`` is LLaVA-Video-178K's; the others are the
# layouts of common evaluation harnesses (MVBench's, MLVU's, LVBench's), which real
# instruction mixtures hold too. A model fine-tuned on one layout drifts on the others
# whatever it learned (measured: conf/world/demo.yaml, mc_styles).
MC_STYLES: dict[str, tuple[str, str | None, str, str]] = {
    "llava": ("", "Options:", "dot", MC_INSTRUCTION),
    "question_option": ("Question: ", "Option:", "paren", "Only give the best option."),
    "paren": ("", None, "paren", "Only give the best option."),
    "paren_letter": ("", None, "paren", "Answer the question with the option letter."),
}


def mc_question(question: str, options: list[str], style: str = "llava") -> str:
    """A multiple-choice human turn in one of :data:`MC_STYLES` (answered ``B. red``)."""
    prefix, header, letters, instruction = MC_STYLES[style]
    lines = dotted(options) if letters == "dot" else parenthesised(options)
    return "\n".join([prefix + question, *([header] if header else []), *lines, instruction])


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
