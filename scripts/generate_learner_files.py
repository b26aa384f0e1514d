#!/usr/bin/env python3
"""Regenerate the learner notebooks and the lab 02 starter files from the solutions.

    python scripts/generate_learner_files.py          # write what is stale
    python scripts/generate_learner_files.py --check  # write nothing; exit 1 when stale

For maintainers, after editing solutions/: notebooks/*.ipynb and labs/02-lambda-function/*.py
are overwritten (a learner's own edits there would be lost).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.learner_files import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
