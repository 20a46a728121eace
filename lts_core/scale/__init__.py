"""Scale-out on Ray: the worker ``pool`` (one writer on the driver, retries) and the
``worker`` actor. Sits beside ``learning`` (it plays training episodes, and training uses it).
"""
