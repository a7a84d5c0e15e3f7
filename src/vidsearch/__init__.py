"""vidsearch: find the moment in a video that a sentence describes."""

__version__ = "0.1.0"
