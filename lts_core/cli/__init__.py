"""The ``lts`` command: ``main`` (parser and dispatch) and one module per command group
(``run``, ``learn``, ``calibrate``, ``data``).
"""
