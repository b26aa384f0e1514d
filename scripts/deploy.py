#!/usr/bin/env python3
"""Build (or catch up) your stack from the solution notebooks.

    python scripts/deploy.py                 # everything: table, role, function, REST API
    python scripts/deploy.py --through 3     # only what labs 01 to 03 build
    python scripts/deploy.py --json          # print the result as JSON (api_url, table, ...)

Runs the same cells the labs teach (the cells tagged "build" in solutions/notebooks), on the
local cloud by default or on AWS with WORKSHOP_TARGET=aws. Safe to run again: what exists is
kept. The owner is WORKSHOP_OWNER, defaulting to your login name.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.deploy import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
