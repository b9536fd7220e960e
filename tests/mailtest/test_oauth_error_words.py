"""A token endpoint's error in words (issue 25, "a nested token error shows as a Python dict"): whatever
JSON the endpoint puts in `error` and `error_description` (a nested object as Graph and some gateways
send, a list, a number), the explanation reads as text, never Python's repr of a dict or list.

explain_error is the parser of that answer: tested directly, with hypothesis, as the parsers are."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.mailtest.oauth import TokenRequest, explain_error

REQUEST = TokenRequest(AuthMethod.OAUTH, "https://login.example/token", "client", "scope", client_secret="s3cret-value")

# The endpoint's strings never hold a repr's own marks ([ { '), so any in the text would be a repr of ours.
WORDS = st.text(st.characters(blacklist_characters="[{'"), max_size=20)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | WORDS,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS.map(lambda k: k[:8]), inner,
                                                                                max_size=3),
                    max_leaves=10)


def test_a_nested_error_object_reads_code_and_message():
    answer = {"error": {"code": "invalid_client", "message": "The client secret is wrong."}}
    text = explain_error(401, answer, REQUEST, "login.example")
    assert "invalid_client: The client secret is wrong." in text, text
    assert "{" not in text and "'code'" not in text


@settings(max_examples=300, deadline=None)
@given(error=JSON.filter(lambda v: bool(v)), description=JSON)
def test_no_json_the_endpoint_sends_reaches_the_admin_as_a_python_repr(error, description):
    text = explain_error(400, {"error": error, "error_description": description}, REQUEST, "login.example")
    assert text.startswith("The token endpoint")
    assert "{'" not in text and "['" not in text and "': " not in text, text
