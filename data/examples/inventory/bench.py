"""Driver for FasterPy: builds inventories of a few sizes and asks for restock lists."""
import random

from inventory import Inventory


def build(n, seed):
    rng = random.Random(seed)
    inv = Inventory()
    for i in range(n):
        inv.add(f"sku{i:05d}", rng.randrange(0, 40), rng.randrange(1, 10))
    orders = [(f"sku{rng.randrange(n):05d}", rng.randrange(1, 5)) for _ in range(2 * n)]
    return inv, orders


for n, seed in ((10, 1), (200, 2), (800, 3)):
    inv, orders = build(n, seed)
    print(n, len(inv.restock_list(orders)))
