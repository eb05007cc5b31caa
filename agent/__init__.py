"""The LLM side of recagent: backends, reranking, query understanding and the chat agent.

``agent`` receives candidates from ``retrieval``; it never reaches into the vector store.
"""
