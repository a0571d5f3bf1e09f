"""AttemptLimiter: attempts are reserved before they are checked; failures count, successes do not."""

from __future__ import annotations

import pytest

from server.attempt_limiter import AttemptLimiter, Limited, LimitRule, key_of


def test_reservations_refuse_attempts_that_arrive_while_others_are_checked() -> None:
    limiter = AttemptLimiter()
    rule = LimitRule.parse("guesses", "3/minute")
    running = [limiter.begin([(rule, "addr")]) for _ in range(3)]
    with pytest.raises(Limited) as refused:
        limiter.begin([(rule, "addr")])
    assert refused.value.retry_after >= 1 and refused.value.rule == "guesses"
    for attempt in running:
        attempt.failed()
    with pytest.raises(Limited) as still:
        limiter.begin([(rule, "addr")])
    assert 50 <= still.value.retry_after <= 60  # the oldest failure leaves the window in a minute
    limiter.begin([(rule, "another-addr")]).failed()  # other keys have their own allowance


def test_a_success_gives_its_reservation_back_and_forget_clears_a_key() -> None:
    limiter = AttemptLimiter()
    rule = LimitRule.parse("guesses", "2/minute;5/hour")
    for _ in range(10):
        limiter.begin([(rule, "addr")]).succeeded()
    limiter.begin([(rule, "addr")]).failed()
    limiter.begin([(rule, "addr")]).failed()
    with pytest.raises(Limited):
        limiter.begin([(rule, "addr")])
    limiter.forget(rule, "addr")
    attempt = limiter.begin([(rule, "addr")])
    attempt.failed()
    attempt.failed()  # settled once only
    limiter.begin([(rule, "addr")]).abandoned()
    limiter.begin([(rule, "addr")])


def test_an_attempt_refused_under_one_rule_reserves_nothing_under_the_others() -> None:
    limiter = AttemptLimiter()
    tight, loose = LimitRule.parse("tight", "1/minute"), LimitRule.parse("loose", "2/minute")
    limiter.begin([(tight, "k")]).failed()
    for _ in range(5):
        with pytest.raises(Limited):
            limiter.begin([(loose, "k"), (tight, "k")])
    limiter.begin([(loose, "k")]).failed()
    limiter.begin([(loose, "k")]).failed()


def test_rules_with_the_same_allowance_do_not_share_windows_and_none_turns_one_off() -> None:
    limiter = AttemptLimiter()
    first, second = LimitRule.parse("first", "1/minute"), LimitRule.parse("second", "1/minute")
    limiter.begin([(first, "k")]).failed()
    limiter.begin([(second, "k")]).failed()
    off = LimitRule.parse("off", "none")
    for _ in range(100):
        limiter.begin([(off, "k")]).failed()
    assert key_of("a/b", "c") != key_of("a", "b/c") and len(key_of("x" * 10_000)) == 32
