"""The local cloud keeps a learner's work across ``down``, crashes and reboots.

moto holds everything in memory. This package writes a snapshot of moto's backends (tables and
items, functions and their code, roles and policies, REST APIs with their ids and stages, log
groups and events) to ``snapshot.pickle`` in the state folder, and restores it when the local
cloud starts again:

- :mod:`.fileformat` — the file: atomic writes, the JSON header (versions, ports, a summary),
  ownership and integrity checks, setting a bad file aside. Standard library only.
- :mod:`.codec` — moto's backends to bytes and back (what plain pickle cannot do, handled).
- :mod:`.guard` — which requests change state, and the short pause that makes a snapshot
  consistent across services.
- :mod:`.keeper` — restore at start, debounced snapshots while serving, the last one on ``down``.

Not kept: the Lambda runtime's warm workers (the first invocation after a start is cold),
requests in flight, and changes of the last interval before a crash or ``kill -9``.

Only the standard-library parts are imported here: the lifecycle module (imported by every
notebook) reads the remembered ports and the notice through this package.
"""

from workshop.localcloud.snapshots.fileformat import (
    NOTICE_FILE_NAME,
    SNAPSHOT_FILE_NAME,
    SnapshotFileInfo,
    file_info,
    remembered_ports,
    set_aside,
    set_aside_files,
    snapshot_path,
    take_notice,
)

__all__ = [
    "NOTICE_FILE_NAME",
    "SNAPSHOT_FILE_NAME",
    "SnapshotFileInfo",
    "file_info",
    "remembered_ports",
    "set_aside",
    "set_aside_files",
    "snapshot_path",
    "take_notice",
]
