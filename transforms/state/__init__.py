"""State that outlives one run: feeds, entries seen, the dedup index, per-source statistics."""
