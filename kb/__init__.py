"""Knowledge base: context extraction, code embeddings, the vector index, the record store and retrieval."""
