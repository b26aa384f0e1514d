#!/usr/bin/env python3
"""Check your workshop resources lab by lab; each failed line says what to fix.

    python scripts/check.py             # everything through lab 06
    python scripts/check.py 04          # what should exist once lab 04 is done
    python scripts/check.py 07          # after cleanup: nothing of yours is left
    python scripts/check.py --all-owners   # instructors: one row per learner

Exit status 0 when every check passes, 1 when one fails, 2 when the checks could not run.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.checks import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
