"""The sign-in throttle: failures per name and per address in a sliding window."""

from __future__ import annotations

from loopml.auth.throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock, **limits) -> SignInThrottle:
    return SignInThrottle(
        **({"window": 600, "max_failures": 3, "max_address_failures": 5, "clock": clock} | limits)
    )


def test_a_name_is_held_back_after_its_failures_until_the_oldest_leaves_the_window():
    clock = Clock()
    guard = throttle(clock)
    for step in range(3):
        assert guard.check("ada", "10.0.0.1") is None
        guard.failed("ada", "10.0.0.1")
        clock.now += 60 * step
    held = guard.check("ada", "10.0.0.9")  # another address does not help
    assert (
        held is not None and "3 failed sign-ins of this user name within 10 minutes" in held.reason
    )
    assert "ada" not in held.reason  # the typed name is never repeated: it may be a password
    assert held.retry_after == 600 - 180  # the first failure was 180 s ago
    assert guard.check("bob", "10.0.0.2") is None
    clock.now += held.retry_after
    assert guard.check("ada", "10.0.0.1") is None


def test_an_address_guessing_many_names_is_held_back_for_all_of_them():
    clock = Clock()
    guard = throttle(clock)
    for name in ("a", "b", "c", "d", "e"):
        guard.failed(name, "10.0.0.66")
    held = guard.check("someone-else", "10.0.0.66")
    assert held is not None and "address 10.0.0.66" in held.reason
    assert guard.check("someone-else", "10.0.0.7") is None


def test_success_clears_the_names_failures_but_not_the_addresss():
    clock = Clock()
    guard = throttle(clock, max_address_failures=4)
    for _ in range(2):
        guard.failed("ada", "10.0.0.1")
    guard.succeeded("ada")
    for _ in range(2):
        guard.failed("ada", "10.0.0.1")
    assert guard.check("ada", "10.0.0.2") is None  # 2 since the success, not 4
    assert guard.check("ada", "10.0.0.1") is not None  # the address saw 4


def test_memory_is_bounded_whatever_the_number_of_invented_names():
    guard = throttle(Clock(), max_keys=100)
    for n in range(10_000):
        guard.failed(f"user{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(guard) == 100
