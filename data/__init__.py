"""FasterPy's shipped data, installed as the package `fasterpy_data` (see kb/paths.py): the default
knowledge base, example programs, a PIE sample and a trained adapter. No code lives here."""
