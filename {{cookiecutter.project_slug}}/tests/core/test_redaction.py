"""Names that look secret have their values replaced, in query strings and in nested data; other names are kept."""

import pytest

from core.observability.redaction import MAX_DEPTH, REDACTED, is_sensitive, redact_query, scrub


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "db_password",
        "passwd",
        "X-CSRFToken",
        "csrfmiddlewaretoken",
        "sessionid",
        "access_token",
        "api_key",
        "x-api-key",
        "apiKey",
        "key",
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "auth",
        "client_secret",
        "signature",
        "aws_credentials",
    ],
)
def test_a_name_holding_a_secret_is_sensitive(name: str) -> None:
    assert is_sensitive(name)


@pytest.mark.parametrize("name", ["author", "monkey", "keyword", "keyset", "page", "page_size", "ordering", "cursor"])
def test_an_ordinary_name_is_not_sensitive(name: str) -> None:
    assert not is_sensitive(name)


@pytest.mark.parametrize(
    ("query", "redacted"),
    [
        ("page=2&ordering=-id", "page=2&ordering=-id"),
        ("", ""),
        ("token=abc&page=2", f"token={REDACTED}&page=2"),
        ("page=2;session_id=abc", f"page=2;session_id={REDACTED}"),
        ("%74oken=abc&author=3", f"%74oken={REDACTED}&author=3"),
        ("api+key=abc&q=%20x", f"api+key={REDACTED}&q=%20x"),
        ("token=&token", f"token={REDACTED}&token"),
        ("PASSWORD=a=b", f"PASSWORD={REDACTED}"),
    ],
)
def test_a_query_string_keeps_its_names_and_loses_the_values_of_sensitive_ones(query: str, redacted: str) -> None:
    assert redact_query(query) == redacted


def test_nested_data_loses_every_sensitive_value_at_any_depth() -> None:
    data = {
        "user": "someone",
        "headers": {"Content-Type": "application/json", "Authorization": "Token abc"},
        "breadcrumbs": [{"data": {"refresh_token": "t1", "count": 2}}, ("api_key", {"secret": "s1"})],
        "request": {"query_string": "token=q1&page=2"},
        1: {"password": "p1"},
    }

    assert scrub(data) == {
        "user": "someone",
        "headers": {"Content-Type": "application/json", "Authorization": REDACTED},
        "breadcrumbs": [{"data": {"refresh_token": REDACTED, "count": 2}}, ["api_key", {"secret": REDACTED}]],
        "request": {"query_string": f"token={REDACTED}&page=2"},
        1: {"password": REDACTED},
    }


def test_data_deeper_than_the_bound_is_replaced_unread() -> None:
    deep: dict[str, object] = {"password": "p1"}
    for _ in range(MAX_DEPTH + 5):
        deep = {"next": deep}

    assert "p1" not in repr(scrub(deep))
    assert REDACTED in repr(scrub(deep))
