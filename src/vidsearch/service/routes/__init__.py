"""HTTP routes, one module per concern; `compat` goes last (its path matches almost anything)."""
