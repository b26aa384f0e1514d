#!/usr/bin/env python3
"""Re-execute the solution notebooks on a fresh local cloud and store their outputs.

    python scripts/run_notebooks.py            # all of them, in order (00 to 08)
    python scripts/run_notebooks.py 03 04      # store only these (all still run, in order)

The stored outputs are what `make test` compares (nbval strict), so refresh them this way,
never by hand: a fresh local cloud in a temporary state folder (the learner's own, in
.workshop/, is untouched), the fixed owner `learner`, fake credentials. Afterwards the learner
notebooks are regenerated, since they show the outputs of the cells they share.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.notebook_runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
