"""The record: row types (``records``), the single-writer DuckDB ``store``, the read model
(``queries``), ``export`` and the ``harm`` judge. Imports nothing of the world, parts or runtime.
"""
