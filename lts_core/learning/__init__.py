"""The trainer: ``credit`` (stepwise RL with usage-aware credit), ``episodes`` (live and
recorded behind one protocol, ``episode_sources``), ``train``, ``train_config``, ``recipes``,
``calibrate`` and ``training_jobs`` (a training in the background).
"""
