"""Commands beyond build/check/diff: tag edits, promotion, the real validators."""
