"""The HTTP service: FastAPI app, web page, metrics and background indexing jobs.

Needs the `serve` extra (`pip install 'vidsearch[serve]'`); the core never imports it.

    app.py        create_app(settings, service): wiring, lifespan, error handlers
    engine.py     the one IndexStore + encoder the process owns; thread-safe operations
    jobs.py       background indexing jobs, one at a time, with progress
    uploads.py    streamed multipart uploads with a size limit
    names.py      file names from requests, checked; paths kept inside the data directory
    routes/       one module per concern (search, videos, jobs, media, health, web, compat)
    schemas.py    request and response models (the OpenAPI document at /docs)
    metrics.py    Prometheus metrics at /metrics
    server.py     uvicorn underneath `vidsearch serve`
"""

SERVE_EXTRA_HINT = "the service needs its extra dependencies: pip install 'vidsearch[serve]'"
