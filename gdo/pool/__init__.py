"""Pool ingestion: real pool files -> one table of single-turn candidates."""
