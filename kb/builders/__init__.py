"""Knowledge-base builders: pair loaders for each data format, diffs, summarizers, rate measurement."""
