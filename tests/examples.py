"""How many examples a property test or state machine tries: the loaded hypothesis profile
decides, so that ``make unit`` stays quick on a laptop and CI searches further.

Profiles (``HYPOTHESIS_PROFILE`` names one; CI, ``CI=true`` or ``LAD_REQUIRE_POSTGRES=1``,
loads ``ci``, anything else ``dev``):

- ``ci``: hypothesis's default budget (100 examples a test; a test asking for N gets N);
- ``dev``: a tenth of it (a test asking for N gets N / 10, at least 3).

Neither has a deadline: ``make test`` runs the suite on as many processes as the machine
has cores, beside worker processes and PostgreSQL, and an example that waited for a core
failed as "too slow" (hypothesis's 200 ms default) although nothing was wrong. What the
tests prove does not depend on how fast an example runs.
"""

from __future__ import annotations

import os

from hypothesis import settings

CI_BUDGET = 100
settings.register_profile("ci", max_examples=CI_BUDGET, deadline=None)
settings.register_profile("dev", max_examples=CI_BUDGET // 10, deadline=None)


def load_profile() -> str:
    in_ci = os.environ.get("CI") == "true" or os.environ.get("LAD_REQUIRE_POSTGRES") == "1"
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci else "dev")
    settings.load_profile(name)
    return name


def scaled(ci_examples: int) -> int:
    """``ci_examples`` under the ``ci`` profile; the same share of the loaded profile's
    budget under any other (at least 3, so a machine still takes a few walks)."""
    return max(3, round(ci_examples * settings().max_examples / CI_BUDGET))
