"""Training: a text encoder into a frozen image encoder's space, or a tiny CLIP from scratch.

    vidsearch train CONFIG        train as a TOML config says (resumes a stopped run)
    vidsearch train proof DIR     the end-to-end proof on the synthetic shapes world

The core (ingest, search, encoders, index) never imports this package; it needs the `train`
extra (sentence-transformers, MLflow). docs/training.md is the reference.
"""
