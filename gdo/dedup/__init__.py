"""Near-duplicate removal: near-duplicate QA pairs on one media, near-duplicate media.

Runs as a pool post-step (``pool.near_dup``, :func:`gdo.dedup.near_dup.find_near_duplicates`),
so what it removes never costs a descriptor pass.
"""
