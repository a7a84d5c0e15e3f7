"""The `vidsearch` command line (the `vidsearch` entry point is `main`).

    app            the typer app: every command mounted
    failing        `error: <message>` on stderr and the exit code, for every command
    options        the options several commands share; the settings and library they open
    indexing       index                     searching    search
    catalog        videos, remove            maintenance  doctor, snapshot, restore
    models         models, export-onnx       demo         demo
    serve          serve                     progress     the progress bars
    formatting     how times are written
    data/          data ...                  train        train ...
    evaluate       eval ...                  pipelines    pipelines ...
    mlflow_server  mlflow-server

Commands call the library (`vidsearch`, and the side packages' own functions), never each
other.
"""

from vidsearch.cli.app import app, main

__all__ = ["app", "main"]
