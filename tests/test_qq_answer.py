"""parse_qq_answer: the three shapes QQ Connect answers in, as its documents show them."""

import pytest

from server.oauth.qq_answer import parse_qq_answer


def test_json():
    answer = '{"access_token":"FE04CCE2","expires_in":"7776000","refresh_token":"88E4BE14"}'
    assert parse_qq_answer(answer) == {
        "access_token": "FE04CCE2", "expires_in": "7776000", "refresh_token": "88E4BE14"}


def test_form_encoded():
    assert parse_qq_answer("access_token=FE04CCE2&expires_in=7776000&refresh_token=88E4BE14\n") == {
        "access_token": "FE04CCE2", "expires_in": "7776000", "refresh_token": "88E4BE14"}


def test_jsonp():
    assert parse_qq_answer('callback( {"client_id":"101814107","openid":"1704ABC878C"} );\n') == {
        "client_id": "101814107", "openid": "1704ABC878C"}


def test_jsonp_error_with_the_trailing_comma_of_qqs_own_example():
    answer = 'callback( { "error":100016, "error_description":"access token check failed", } );'
    assert parse_qq_answer(answer) == {"error": 100016, "error_description": "access token check failed"}


@pytest.mark.parametrize("answer", ["", "<html><body>502 Bad Gateway</body></html>", "[1, 2]",
                                    '{"error": 1', "callback( [1] );", "just words"])
def test_anything_else_is_refused(answer):
    with pytest.raises(ValueError):
        parse_qq_answer(answer)
