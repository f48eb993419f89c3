import pytest

from harness.errors import UserError
from harness.registry import Registry, parse_names


def test_register_get_and_duplicates():
    reg = Registry("task")
    reg.register("simlex999", 1)
    reg.register("men", 2)
    assert reg.get("men") == 2
    assert reg.names() == ["men", "simlex999"]
    with pytest.raises(ValueError):
        reg.register("men", 3)


def test_unknown_name_suggests_nearest():
    reg = Registry("task")
    for n in ("men", "simlex999", "wordsim353", "stsb"):
        reg.register(n, n)
    with pytest.raises(UserError) as exc:
        reg.get("simlex99")
    assert "did you mean simlex999?" in str(exc.value)


def test_parse_names_all_and_list():
    reg = Registry("task")
    for n in ("b", "a"):
        reg.register(n, n)
    assert parse_names("all", reg) == ["a", "b"]
    assert parse_names(" b, a ", reg) == ["b", "a"]
    with pytest.raises(UserError):
        parse_names("a,c", reg)


def test_registered_keeps_registration_order():
    reg = Registry("task")
    for n in ("b", "a", "c"):
        reg.register(n, n.upper())
    assert reg.registered() == ["B", "A", "C"] and reg.names() == ["a", "b", "c"]
