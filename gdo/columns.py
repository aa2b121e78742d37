"""The column names of every pipeline table, in one place.

Each stage's artifact is a table (docs/ARCHITECTURE.md, "Contracts between stages"):
the candidate table (``pool/pool.parquet``), the descriptors (``descriptors.parquet``), the
scores (``scores.parquet``), a subset (``subset.parquet``) and the frontier
(``frontier.parquet``). Code and tests name their columns through these constants, never as
bare strings, so a column is renamed in one place and a misspelt one is a NameError, not
an empty lookup (tests/test_columns.py checks that no descriptor or score column is spelt
out elsewhere in gdo/).

The descriptor columns keep the paper's short names (``vds``, ``tnc``, ...), which are
also what a user types in ``score.drop``; each constant's comment spells the concept out
(the descriptor's config name, its file in gdo/descriptors/ and docs/METHOD.md).
"""

from __future__ import annotations

# ---- candidate table (pool/pool.parquet): column -> pandas/arrow dtype -----------------
CANDIDATE: dict[str, str] = {
    "uid": "str",
    "sample_id": "str",
    "turn": "int64",
    "source": "str",
    "file": "str",
    "record": "int64",
    "bucket": "str",
    "media_kind": "str",
    "media": "list[str]",
    "video_id": "str",
    "duration_s": "float64",
    "n_frames": "int64",
    "question": "str",
    "answer": "str",
    "is_mcq": "bool",
    "options": "list[str]",
    "answer_letter": "str",
}

# ---- descriptors (descriptors/descriptors.parquet) -------------------------------------
# Paper short name = column; the spelled-out concept (descriptor config name) beside it.
LOSS_VISUAL = "loss_visual"  # visual_dependency: answer loss with the media
LOSS_BLIND = "loss_blind"  # visual_dependency: answer loss without the media
VDS = "vds"  # visual_dependency: loss_blind - loss_visual
PPL = "ppl"  # difficulty: answer perplexity with the media
AMM = "amm"  # motion: average motion magnitude
FRAME_DIV = "frame_div"  # motion: frame diversity
TNC = "tnc"  # temporal_necessity
SC = "sc"  # self_consistency
CLUSTER_ID = "cluster_id"  # coverage: k-means cluster (-1 for failed rows), not z-scored
CLUSTER_REP = "cluster_rep"  # coverage: typicality within its cluster
CLUSTER_HARD = "cluster_hard"  # coverage: rarity, 1 - cluster_rep
# coverage's colour statistics (inputs of its features), not z-scored
RGB_STATS = ("rgb_mean_r", "rgb_mean_g", "rgb_mean_b", "rgb_std_r", "rgb_std_g", "rgb_std_b")
GOAL_REL = "goal_rel_"  # goal_relevance: prefix of goal_rel_<benchmark>
Z = "z_"  # prefix of the robust z-score z_<col> of a descriptor column
STATUS = "status"  # ok | failed
ERROR = "error"  # "<ExceptionClass>: message" of a failed row, else ""
OK = "ok"
FAILED = "failed"

# Every per-candidate descriptor value, in the table's order (goal_rel_* follow).
DESCRIPTORS = (
    AMM,
    FRAME_DIV,
    LOSS_VISUAL,
    LOSS_BLIND,
    VDS,
    PPL,
    TNC,
    SC,
    CLUSTER_REP,
    CLUSTER_HARD,
)

# ---- scores (scores/scores.parquet) ----------------------------------------------------
Q = "q"  # the shared quality score (docs/METHOD.md#the-quality-score-q)
Z_Q = "z_q"
VDS3 = "vds3"  # -z(loss_visual) + z(loss_blind) + z(frame_div)
SC_USED = "sc_used"  # the SC value q used (the fallback's where SC is missing)
SC_FALLBACK = "sc_fallback"  # whether sc_used is the fallback
Z_PPL = "z_ppl"
# stratum fields (score.strata)
DURATION_BIN = "duration_bin"
TEMPORAL = "temporal"
QLEN_BIN = "qlen_bin"
ALEN_BIN = "alen_bin"
SOURCE_GROUP = "source_group"
# tags
IS_VIDEO = "is_video"
TEMPORAL_VIDEO = "temporal_video"
# base components and their sum
TEXT_QUALITY = "text_quality"
DIFFICULTY = "difficulty"
ALIGNMENT = "alignment"
RARITY = "rarity"
TEMPORAL_BONUS = "temporal_bonus"
BASE = "base"
TEXT_KEY = "text_key"  # uint64 dedup key of media + question + answer
# the default mix
SCORE_VIDEO = "score_video"
SCORE_IMAGE = "score_image"
SCORE = "score"

# ---- subsets (subsets/<goal>/subset.parquet): candidate + score columns, and ------------
GOAL_SCORE = "goal_score"  # the goal's mix of the shared columns
SELECT_STEP = "select_step"  # the selection step that took the row

# ---- frontier (frontier/frontier.parquet) ----------------------------------------------
FRONTIER = [
    "goal",
    "run",
    "seed",
    "budget",
    "samples",
    "benchmark",
    "kind",
    "accuracy",
    "acc_lo",
    "acc_hi",
    "n",
    "n_answered",
    "n_video_missing",
    "mode",
    "prompt_version",
    "extract_version",
    "source",
    "is_base",
    "is_final",
    "eval_dir",
]


def z(column: str) -> str:
    """The robust z-score column of ``column`` (``z_<column>``)."""
    return Z + column


def goal_rel(name: str) -> str:
    """The goal relevance column toward ``name`` (``goal_rel_<name>``; ``name`` already a
    safe identifier)."""
    return GOAL_REL + name
