import pytest
from inventory import Inventory


def make():
    inv = Inventory()
    inv.add("a", 10, 5)
    inv.add("b", 3, 5)
    inv.add("c", 8, 2)
    return inv


def test_restock_list_sorted_and_below_minimum():
    assert make().restock_list([("a", 6), ("c", 1)]) == ["a", "b"]


def test_unknown_sku_raises():
    with pytest.raises(KeyError):
        make().restock_list([("zzz", 1)])
