"""Write: the only code that touches the output tree (owned-file manifest, atomic writes, cache)."""
