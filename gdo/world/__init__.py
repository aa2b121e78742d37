"""The embedded synthetic world: shapes on a small canvas, written in real formats.

``gdo world`` (:func:`gdo.world.stage.run`) writes the pool, the pre-training split, the
four held-out benchmark suites and the ground truth; :func:`vocabulary` lists every word
the world's texts can contain (for the tiny word-level tokenizer).
"""

from gdo.world.vocab import vocabulary, words

__all__ = ["vocabulary", "words"]
