class Inventory:
    def restock_list(self, orders):
        remaining = {item.sku: item.qty for item in self.items}
        for sku, qty in orders:
            if sku not in remaining:
                raise KeyError(sku)
            remaining[sku] -= qty
        return sorted({item.sku for item in self.items if remaining[item.sku] < item.minimum})
