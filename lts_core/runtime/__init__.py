"""K teams on one task: ``RunConfig`` and its ``checks``, ``team``, ``run`` (the commit path),
the ``executors`` (virtual clock, threads), the ``engine``, ``poison`` and the ``explainer``.
"""
