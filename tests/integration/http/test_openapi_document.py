"""The OpenAPI document declares the problems each operation answers, as it answers them."""

from __future__ import annotations

from tests.integration.http.openapi_cases import operations

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem_statuses(operation: dict[str, object]) -> set[int]:
    responses = operation["responses"]
    assert isinstance(responses, dict)
    return {int(status) for status in responses if int(status) >= 400}


def test_every_problem_is_declared_as_problem_json() -> None:
    wrong = [f"{method} {path} {status}" for path, method, operation in operations()
             for status, response in operation["responses"].items()
             if int(status) >= 400 and response.get("content") != PROBLEM]
    assert wrong == []


def test_sign_up_declares_no_authentication_or_lookup_problem() -> None:
    sign_up = next(op for path, method, op in operations() if path == "/v1/auth/signup")
    assert problem_statuses(sign_up) == {409, 422, 503}


def test_every_operation_with_a_bearer_declares_401_and_403() -> None:
    wrong = [f"{method} {path}" for path, method, operation in operations()
             if operation.get("security") and not {401, 403} <= problem_statuses(operation)]
    assert wrong == []


def test_every_operation_with_a_path_parameter_declares_404() -> None:
    wrong = [f"{method} {path}" for path, method, operation in operations()
             if "{" in path and 404 not in problem_statuses(operation)]
    assert wrong == []


def test_every_operation_declares_422_and_503_and_none_400() -> None:
    wrong = [f"{method} {path}" for path, method, operation in operations()
             if not {422, 503} <= problem_statuses(operation) - {400}
             or 400 in problem_statuses(operation)]
    assert wrong == []
