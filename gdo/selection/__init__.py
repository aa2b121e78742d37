"""Goal presets and constrained, stratified subset construction."""
