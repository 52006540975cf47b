"""The committed spec is the generated spec: regenerate with `chain-ledger openapi > openapi/openapi.json`."""

from pathlib import Path

from service.openapi_doc import openapi_json

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.exists(), "openapi/openapi.json is missing: run `chain-ledger openapi > openapi/openapi.json`"
    assert COMMITTED.read_text(encoding="utf-8") == openapi_json(), (
        "openapi/openapi.json drifted from the app: run `chain-ledger openapi > openapi/openapi.json`"
    )


def test_operation_ids_are_unique_and_errors_documented():
    import json

    spec = json.loads(openapi_json())
    ids = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ids.append(op["operationId"])
            if path.startswith("/api/v1"):
                assert "401" in op["responses"], f"{method.upper()} {path} does not document 401"
    assert len(ids) == len(set(ids))
