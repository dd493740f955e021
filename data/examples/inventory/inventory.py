"""A tiny stock ledger — FasterPy's example for methods, drivers and the user's own tests:

    fasterpy optimize data/examples/inventory/inventory.py -f Inventory.restock_list \
        --driver "python bench.py" --test-cmd "pytest -q tests"

(run from data/examples/inventory).
"""

from dataclasses import dataclass, field


@dataclass
class Item:
    sku: str
    qty: int
    minimum: int = 5


@dataclass
class Inventory:
    items: list = field(default_factory=list)

    def add(self, sku, qty, minimum=5):
        self.items.append(Item(sku, qty, minimum))

    def find(self, sku):
        for item in self.items:
            if item.sku == sku:
                return item
        raise KeyError(sku)

    def restock_list(self, orders):
        """SKUs that fall below their minimum after the orders, sorted; orders are (sku, qty)."""
        remaining = {}
        for item in self.items:
            remaining[item.sku] = item.qty
        for sku, qty in orders:
            if sku not in [i.sku for i in self.items]:
                raise KeyError(sku)
            remaining[sku] = remaining[sku] - qty
        low = []
        for item in self.items:
            if remaining[item.sku] < item.minimum and item.sku not in low:
                low.append(item.sku)
        return sorted(low)


def total_quantity(inventory):
    return sum(item.qty for item in inventory.items)
