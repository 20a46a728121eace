"""What agents act on: tasks and suites, BM25 ``search``, ``tools`` with web latency,
``embeddings`` and their disk cache, the shared ``memory`` bank, ``grounding`` and ``data_fetch``.
"""
