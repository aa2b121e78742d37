"""Pool ingestion: real pool files -> one table of single-turn candidates.

``read_candidates(path, ...)`` reads one file (LLaVA-OneVision/NeXT, LLaVA-Video-178K,
chat ``messages`` rows, parquet, or an upstream mixture YAML); ``build_pool`` reads a
whole ``cfg.pool`` and applies dedup and the per-video cap; ``gdo pool`` runs
``gdo.pool.stage.run``.
"""

from gdo.pool.build import build_pool, dedup_and_cap
from gdo.pool.readers import FORMATS, read_candidates
from gdo.pool.report import IngestReport
from gdo.pool.schema import BUCKETS, COLUMNS, MEDIA_KINDS, make_uid

__all__ = [
    "BUCKETS",
    "COLUMNS",
    "FORMATS",
    "MEDIA_KINDS",
    "IngestReport",
    "build_pool",
    "dedup_and_cap",
    "make_uid",
    "read_candidates",
]
