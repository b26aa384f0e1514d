#!/usr/bin/env python3
"""Delete everything the workshop created for you, and prove nothing is left.

    python scripts/cleanup.py --dry-run         # list what would go
    python scripts/cleanup.py                   # delete (on AWS it asks first; --yes skips that)
    python scripts/cleanup.py --all-owners      # instructors: the whole class

Only resources tagged workshop=serverless-inventory and workshop-owner=<you> are deleted; a
look-alike without the tags is never touched. See workshop/cleanup/__init__.py for the rules.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.cleanup import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
