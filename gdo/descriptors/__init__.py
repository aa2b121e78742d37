"""The six GDO descriptors plus goal relevance, and the sharded describe runner.

One file per descriptor, registered by name and configured under
``descriptors.specs`` (``conf/descriptors/default.yaml``):

===================  ======================  ==========================================
paper name           file                    columns
===================  ======================  ==========================================
AMM (motion)         ``motion.py``           ``amm``, ``frame_div``
VDS                  ``visual_dependency``   ``loss_visual``, ``loss_blind``, ``vds``
PPL (difficulty)     ``difficulty.py``       ``ppl``
TNC                  ``temporal_necessity``  ``tnc``
SC                   ``self_consistency``    ``sc``
Coverage             ``coverage.py``         ``rgb_*`` (per sample), ``cluster_id``,
                                             ``cluster_rep``, ``cluster_hard`` (pool)
goal relevance (new) ``goal_relevance.py``   ``goal_rel_<benchmark>`` (pool)
===================  ======================  ==========================================

Public API:

- ``run(cfg, model=None) -> Path``: ``gdo describe``, this rank's shard (resumable)
- ``merge(cfg) -> Path``: ``gdo describe merge``, ``descriptors/descriptors.parquet``
- ``robust_z(x)``: ``(x - median) / (IQR / 1.349)`` with a guarded scale
- ``Descriptor``, ``register``, ``BatchContext``: to add a descriptor in a new file
- ``build(specs)``: the configured descriptors
"""

from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext
from gdo.descriptors.merge import merge
from gdo.descriptors.registry import build
from gdo.descriptors.stage import run
from gdo.utils.stats import robust_z

__all__ = ["BatchContext", "Descriptor", "build", "merge", "register", "robust_z", "run"]
