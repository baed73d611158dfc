from kruispunt.web.passwords import (
    ScryptCost,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_verifies_only_the_right_password() -> None:
    stored = hash_password("s3cret-enough-pass")
    assert stored.startswith("scrypt$")
    assert verify_password("s3cret-enough-pass", stored)
    assert not verify_password("s3cret-enough-pasS", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_weaker_hashes_ask_for_a_rehash() -> None:
    weak = hash_password("pw-pw-pw-pw-pw", ScryptCost(n=2**10))
    assert verify_password("pw-pw-pw-pw-pw", weak)
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("pw-pw-pw-pw-pw"))


def test_generated_passwords_are_long_and_distinct() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 20 for p in passwords)
