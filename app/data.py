"""The dashboard reads the record through the engine's read model, ``lts_core.record.queries``.

Pages write ``data.steps(db, run_id)`` etc.; the definitions (cross-team read, web calls avoided,
net steps saved) are in ``lts_core.record.queries``.
"""

from lts_core.record.queries import *  # noqa: F403
from lts_core.record.queries import __all__  # noqa: F401
