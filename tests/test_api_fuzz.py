"""Schema-driven fuzzing of the whole HTTP API from its own OpenAPI description (issue 18,
"Beyond the list"): Schemathesis generates requests for every operation, valid and invalid,
against a live server with a small indexed video; every answer must be below 500, carry a
status code the description documents, and a body that matches the documented schema.

Bounded and repeatable for CI: a fixed seed, FUZZ_EXAMPLES generated cases per operation and
key setting, no shrinking, no coverage phase (its case count is not bounded by an option)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from service_support import API_KEY, index_video, live_server
from vidsearch.testing.videos import Scene, SceneKind, write_video

pytestmark = pytest.mark.slow

FUZZ_SEED = 18
FUZZ_EXAMPLES = 15  # generated cases per operation, for each of: with the key, without
STATUSES: Counter[int] = Counter()  # every answer's status, for the figures in the docs
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CONFIG = {
    "seed": FUZZ_SEED,
    "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "no-shrink": True},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
}


@pytest.fixture(scope="module")
def fuzz_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server with one short video indexed, so searches return moments."""
    root = tmp_path_factory.mktemp("fuzz")
    video = root / "fuzz.mp4"
    scenes = [Scene(SceneKind.TEXTURE, 50, color=0), Scene(SceneKind.TEXTURE, 50, color=1)]
    write_video(video, scenes)
    live = live_server(root / "home", tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            index_video(http, video)
        yield live.url
    finally:
        live.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: str) -> schemathesis.BaseSchema:
    description = httpx.get(f"{fuzz_server}/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(description, config=SchemathesisConfig.from_dict(CONFIG))


def _operations(schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16, [op.label for op in operations]  # the whole API, no skips
    return operations


def _fuzz(operation: schemathesis.APIOperation, url: str, key: str | None) -> list[str]:
    """FUZZ_EXAMPLES positive and FUZZ_EXAMPLES negative cases of one operation; a line for
    each case that failed a check (the request as curl, and what was wrong)."""
    headers = {"X-API-Key": key} if key else {}
    failures: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=FUZZ_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=url, headers=headers, timeout=30)
            STATUSES[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as error:  # a check failed: keep the case, go on
                curl = case.as_curl_command(headers=headers)
                failures.append(
                    f"{operation.label} [{case.meta.generation.mode.value}]: {curl}\n  -> {error}"
                )

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid: no parameters, no body
            assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


@pytest.mark.parametrize("key", [API_KEY, None], ids=["key", "no-key"])
def test_every_operation_answers_below_500_as_documented(
    api_schema: schemathesis.BaseSchema, fuzz_server: str, key: str | None
) -> None:
    """Without the key, writes are refused (401/403, documented) and reads are open."""
    failures = [f for op in _operations(api_schema) for f in _fuzz(op, fuzz_server, key)]
    print(f"fuzz statuses so far: {sorted(STATUSES.items())}, {STATUSES.total()} cases")
    assert not failures, "\n".join(failures[:20])
