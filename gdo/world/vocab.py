"""Every word the world's texts can contain, for the tiny word-level tokenizer.

Texts split on whitespace with every ASCII punctuation character its own token, case
kept (:func:`words`), the split of ``gdo.models.tiny``'s pre-tokenizer. ``vocabulary()``
is the closed set of those words over questions, answers, options, leaks, record
instructions and the harness prompts, each as written and lowercased (so a lowercasing
tokenizer is covered too). Media tokens (``<image>``, ``<video>``) are not words: the
pool strips them.
"""

from __future__ import annotations

import re
import string

from gdo.world.config import WorldConf
from gdo.world.formats import LETTERS, MC_INSTRUCTION
from gdo.world.questions import LEAKS, TEMPLATES, YES_NO

# A run of non-space, non-punctuation characters, or one ASCII punctuation character.
_PUNCT = re.escape(string.punctuation)
WORD_RE = re.compile(rf"[^\s{_PUNCT}]+|[{_PUNCT}]")
# Prompt texts around questions: record layouts and the evaluation harness prompts.
PROMPT_TEXTS = (
    "Options:",
    MC_INSTRUCTION,
    "Question: ... Option: (A) (B) Only give the best option.",
    "Select the best answer to the following multiple-choice question based on the video. "
    "Respond with only the letter of the correct option.",
    "Answer the question with the option letter.",
    "Answer: the best answer is the correct choice, option or letter.",
    "Please answer the question about this image or video, in these frames.",
)
VARIANT_WORDS = ("first", "second", "last", "start", "end")


def words(text: str) -> list[str]:
    """Split a text the way the tiny tokenizer does: whitespace, then each punctuation mark."""
    return WORD_RE.findall(text)


def vocabulary(cfg: WorldConf | None = None) -> list[str]:
    """Sorted list of every word the world's texts can contain (for ``cfg``, else defaults).

    Includes colours, shapes, directions, yes/no, digits 0-9, letters A-F, the question and
    leak templates, the ``Options:`` layout and the harness prompt words; every word both
    as written and lowercased.
    """
    cfg = cfg or WorldConf()
    texts: list[str] = [*PROMPT_TEXTS, *VARIANT_WORDS, *YES_NO, "shape"]
    texts += [t for ts in TEMPLATES.values() for t in ts]
    texts += list(LEAKS.values())
    texts += list(cfg.scene.colours) + list(cfg.scene.shapes) + list(cfg.scene.directions)
    texts += [string.digits.replace("", " "), LETTERS.replace("", " "), string.punctuation]
    vocab: set[str] = set()
    for t in texts:
        # Template slots ({ref}, {colour}, ...) are filled from the names added above.
        found = words(re.sub(r"\{[a-z_]+\}", " ", t))
        vocab.update(found)
        vocab.update(w.lower() for w in found)
    return sorted(vocab)
