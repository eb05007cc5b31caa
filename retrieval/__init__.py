"""Candidate retrieval: catalogs and interaction logs, the Chroma vector store, matrix factorization,
item-to-item models, popularity and their fusion. Knows nothing of LLMs."""
