"""Text before it meets an encoder: which language a query is in, and Persian normalisation.

Pure Python, no model imports: queries, training data and evaluation all use the same code.
"""

from vidsearch.text.language import UNDETERMINED, detect_language, language_name
from vidsearch.text.persian import normalize_persian

__all__ = ["UNDETERMINED", "detect_language", "language_name", "normalize_persian"]
