"""``python -m workshop.localcloud``: run the local cloud in the foreground (Ctrl-C stops it)."""

from workshop.localcloud.server import main

raise SystemExit(main())
