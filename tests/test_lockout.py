"""A lockout that cannot be turned against staff: per name and address, slowing an address
that sprays names, expiring, counted before the hash, and an unknown name as slow as a known."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from monitor.store import AlarmStore, AuthError, Users
from monitor.store.lockout import FAILURE_WINDOW_S, LOCKOUT_SECONDS, MAX_FAILURES


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def users(tmp_path):
    clock = Clock()
    with AlarmStore(tmp_path) as store:
        accounts = Users(store, clock=clock)
        accounts.add("sam", "specialist", "2468")
        accounts.add("val", "viewer", "1357")
        accounts.clock = clock
        yield accounts


def fail(users: Users, name: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(AuthError, match="wrong PIN"):
            users.authenticate(name, "0000", address)


def test_wrong_pins_from_one_address_never_lock_the_name_for_another(users):
    fail(users, "sam", "10.0.0.66", MAX_FAILURES)
    with pytest.raises(AuthError, match="Too many wrong PINs for sam"):
        users.authenticate("sam", "2468", "10.0.0.66")
    assert users.authenticate("sam", "2468", "10.0.0.5").role == "specialist"


def test_an_address_spraying_names_is_made_to_wait_longer_each_time(users):
    for name in ("a1", "a2", "a3", "a4", "a5"):
        fail(users, name, "10.0.0.66")
    fail(users, "a6", "10.0.0.66")  # one past the limit: the next attempt waits 1 s
    with pytest.raises(AuthError, match="from this computer; try again in 2 s"):
        users.authenticate("a7", "0000", "10.0.0.66")
    users.clock.now += 1.01
    fail(users, "a7", "10.0.0.66")  # now it waits 2 s
    users.clock.now += 1.01
    with pytest.raises(AuthError, match="from this computer"):
        users.authenticate("sam", "2468", "10.0.0.66")
    assert users.authenticate("sam", "2468", "10.0.0.5").role == "specialist"


def test_failures_expire_after_the_window(users):
    fail(users, "sam", "10.0.0.66", MAX_FAILURES - 1)
    users.clock.now += FAILURE_WINDOW_S + 1
    fail(users, "sam", "10.0.0.66", MAX_FAILURES - 1)  # four again: not five
    assert users.authenticate("sam", "2468", "10.0.0.66").role == "specialist"


def test_a_lock_ends_after_its_time(users):
    fail(users, "sam", "10.0.0.66", MAX_FAILURES)
    users.clock.now += LOCKOUT_SECONDS + 1
    assert users.authenticate("sam", "2468", "10.0.0.66").role == "specialist"


def test_a_burst_of_concurrent_guesses_is_counted_before_any_is_checked(tmp_path):
    with AlarmStore(tmp_path) as store:
        users = Users(store)
        users.add("sam", "specialist", "2468")
        checked, barrier = [], threading.Barrier(30)

        def guess(i: int) -> None:
            barrier.wait()
            try:
                users.authenticate("sam", f"{1000 + i}", "10.0.0.66")
            except AuthError as exc:
                checked.append(str(exc) == "Unknown user or wrong PIN.")

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(checked) == 30
    assert sum(checked) == MAX_FAILURES  # the rest were refused before their PIN was hashed


def test_an_unknown_name_costs_the_same_hash_as_a_known_one(tmp_path):
    with AlarmStore(tmp_path) as store:
        users = Users(store)
        users.add("sam", "specialist", "2468")

        def seconds(name: str) -> float:
            samples = []
            for i in range(4):
                start = time.perf_counter()
                with pytest.raises(AuthError):
                    users.authenticate(name, "0000", f"10.0.1.{i}")
                samples.append(time.perf_counter() - start)
            return statistics.median(samples)

        known, unknown = seconds("sam"), seconds("nobody-here")
    assert unknown > 0.5 * known and known > 0.01  # both pay for PBKDF2
