"""Generation backends behind one small interface, resolved through a registry."""
