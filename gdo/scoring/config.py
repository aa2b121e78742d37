"""Schema of ``conf/score/*.yaml`` (the shared score). Owned by gdo.scoring.

The paper's quality score ``q`` (docs/METHOD.md#the-quality-score-q) is a weighted sum of
descriptor terms; the candidate score mixes a heuristic base, ``vds3`` and ``z(q)`` differently for
video and image candidates. Every weight is declared here; the mix's numbers are stated in
``conf/score/*.yaml`` and each ``conf/goal/*.yaml`` (a goal's ``goal.mix`` re-mixes the
shared columns without recomputing them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from gdo.columns import ALEN_BIN, DURATION_BIN, PPL, QLEN_BIN, SC, SOURCE_GROUP, TEMPORAL, VDS

# Descriptors an ablation may drop (the paper's "w/o VDS", "w/o PPL", "w/o SC").
DROPPABLE = (VDS, PPL, SC)
# Stratum fields written to scores.parquet (select.stratum_fields picks among them).
STRATUM_FIELDS = (
    "bucket",
    DURATION_BIN,
    TEMPORAL,
    "is_mcq",
    QLEN_BIN,
    ALEN_BIN,
    SOURCE_GROUP,
)


@dataclass
class QualityWeights:
    """Weights of the paper's quality score q (docs/METHOD.md#the-quality-score-q)."""

    visual_dependency: float = 0.28  # sigmoid(z(vds) + z(frame_div))
    self_consistency: float = 0.18  # sc (or its fallback)
    difficulty: float = 0.14  # exp(-|z(ppl)|): moderate perplexity
    motion: float = 0.12  # exp(-|z(amm)|)
    temporal_necessity: float = 0.12  # tnc
    coverage_rep: float = 0.10  # cluster_rep
    coverage_hard: float = 0.06  # cluster_hard


@dataclass
class ScFallbackWeights:
    """``sc = sigmoid(vds * z(vds) - ppl * |z(ppl)|)`` when SC is missing."""

    vds: float = 0.6
    ppl: float = 0.2


# The mix weights have no defaults: every goal file and score file states each of them, so
# a file that forgets one fails by the key's name instead of taking another preset's number.
@dataclass
class BaseWeights:
    """Heuristic base of the candidate score; each component lies in [0, 1]."""

    text_quality: float = MISSING  # question/answer lengths near the pool's typical lengths
    difficulty: float = MISSING  # sigmoid(z(ppl)): harder for the base model
    alignment: float = MISSING  # how typical the candidate's stratum fields are in the pool
    rarity: float = MISSING  # source rarity prior
    temporal: float = MISSING  # temporal tag (tnc above the threshold, video only)


@dataclass
class TermMix:
    """Weights of the candidate score terms for one media family (video or image)."""

    base: float = MISSING  # robust z of the heuristic base
    vds3: float = MISSING  # -z(loss_visual) + z(loss_blind) + z(frame_div)
    q: float = MISSING  # robust z of q
    goal_relevance: float = MISSING  # robust z of goal_rel_<benchmark>


@dataclass
class MixConf:
    """The candidate score mix (video leans on vds3, images on q); every weight required."""

    video: TermMix = field(default_factory=TermMix)
    image: TermMix = field(default_factory=TermMix)
    base: BaseWeights = field(default_factory=BaseWeights)


@dataclass
class StrataConf:
    """How the stratum fields and tags are derived from the candidate table."""

    # Video durations (seconds) split at these edges: LLaVA-Video's 0-30s, 30-60s, 1-2m, 2-3m.
    duration_bins_s: list[float] = field(default_factory=lambda: [30.0, 60.0, 120.0, 180.0])
    question_len_bins: list[int] = field(default_factory=lambda: [48, 128])  # characters
    answer_len_bins: list[int] = field(default_factory=lambda: [8, 64])  # characters
    # The source group is capture group 1; LLaVA-Video folders carry a duration prefix.
    source_group_regex: str = r"^(?:\d+_\d+_[sm]_|image_)?(.+)$"
    # tnc is 0 (static), 0.5 (unclear) or 1 (temporal): unclear does not count as temporal.
    temporal_threshold: float = 0.5
    # Text dedup key includes the media: templated questions repeat over different clips.
    dedup_with_media: bool = True


@dataclass
class ScoreConf:
    name: str = "default"
    # Ablations: descriptors left out of q, vds3 and the base (VDS, PPL, SC).
    drop: list[str] = field(default_factory=list)
    # SC missing (column absent or NaN): use the paper's fallback instead of excluding.
    sc_fallback: bool = True
    weights: QualityWeights = field(default_factory=QualityWeights)
    sc_fallback_weights: ScFallbackWeights = field(default_factory=ScFallbackWeights)
    mix: MixConf = field(default_factory=MixConf)
    # Benchmark whose goal_rel_<benchmark> column the default score's goal_relevance uses.
    goal_benchmark: str | None = None
    # Control: permute the descriptor rows across candidates (one seeded permutation of
    # every descriptor column) before scoring, so no candidate keeps its own values. A goal
    # selected from these scores has the same constraints and budget but no information.
    shuffle_descriptors: bool = False
    shuffle_seed: int = 0
    strata: StrataConf = field(default_factory=StrataConf)
