"""``gdo inspect``: a static HTML browser of a pool or a goal's subset (no server)."""
