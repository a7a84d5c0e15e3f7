"""The HTTP service: FastAPI app, web page, metrics and background indexing jobs.

Needs the `serve` extra (`pip install 'vidsearch[serve]'`); the core never imports it.

    app.py        create_app(settings, service): wiring and lifespan
    settings.py   ServiceSettings: API key, protected reads, upload limits (VIDSEARCH_*)
    context.py    what routes share (on app.state), and the URLs they hand out
    engine.py     the one IndexStore + encoder the process owns; thread-safe operations
    jobs.py       background indexing jobs, one at a time, with progress
    uploads.py    streamed multipart uploads with a size limit
    names.py      file names from requests, checked; paths kept inside the data directory
    ranges.py     Range headers checked before the file is served
    auth.py       API key for writes (and for reads when protected)
    errors.py     every failure as JSON with the right status
    routes/       one module per concern (search, videos, jobs, media, health, web, compat)
    schemas.py    request and response models (the OpenAPI document at /docs)
    metrics.py    Prometheus metrics at /metrics
    server.py     uvicorn underneath `vidsearch serve`
    static/       the web page (plain HTML, CSS and JS)
"""

SERVE_EXTRA_HINT = "the service needs its extra dependencies: pip install 'vidsearch[serve]'"
