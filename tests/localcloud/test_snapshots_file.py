"""The snapshot file: atomic writes, integrity, versions, ownership, setting aside, the notice.

No local cloud runs here: these are the checks that stand between a file on disk and
``pickle.loads`` (which runs code), so each refusal is tested on its own.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from workshop.localcloud import config
from workshop.localcloud.snapshots import control, fileformat, ports
from workshop.localcloud.snapshots.fileformat import (
    BrokenSnapshot,
    UntrustedFolder,
    UntrustedSnapshot,
)

PAYLOAD = b"\x80\x05K\x01."  # pickle of the int 1


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    return state


def write(folder: Path, payload: bytes = PAYLOAD, **header: object) -> Path:
    path = fileformat.snapshot_path(folder)
    defaults: dict[str, object] = {
        "moto_version": "5.2.5",
        "endpoint_port": 4566,
        "gateway_port": 4567,
    }
    defaults.update(header)
    fileformat.write_atomic(path, fileformat.payload_header(payload, **defaults), payload)  # type: ignore[arg-type]
    return path


# -- writing -----------------------------------------------------------------------------------------


def test_a_snapshot_round_trips_with_its_header_and_is_private(folder: Path) -> None:
    # GIVEN a snapshot written with ports and a summary
    path = write(folder, summary={"tables": 1})
    # WHEN it is read back
    header, payload = fileformat.read_verified(path)
    # THEN payload and header are what was written, and only the owner can read the file
    assert payload == PAYLOAD
    assert (header.format, header.moto, header.endpoint_port, header.gateway_port) == (
        fileformat.FORMAT_VERSION,
        "5.2.5",
        4566,
        4567,
    )
    assert header.summary == {"tables": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [fileformat.SNAPSHOT_FILE_NAME]


def test_a_write_that_fails_half_way_leaves_the_old_snapshot_whole(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a good snapshot
    path = write(folder, b"old")
    before = path.read_bytes()

    # WHEN the next write dies before its rename (a full disk, a kill)
    def broken_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileformat.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write(folder, b"new" * 1000)
    # THEN the old file is untouched and no temporary file is left behind
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == [fileformat.SNAPSHOT_FILE_NAME]


def test_leftover_temporaries_of_a_killed_writer_are_removed_never_read(folder: Path) -> None:
    leftover = folder / f".{fileformat.SNAPSHOT_FILE_NAME}.abc123.tmp"
    leftover.write_bytes(b"half")
    fileformat.remove_leftover_temporaries(folder)
    assert not leftover.exists()


# -- integrity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda data: data[:-3], "cut short"),
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "checksum"),
        (lambda data: b"PK\x03\x04 not a snapshot" + data, "not a local-cloud snapshot"),
        (lambda data: fileformat.MAGIC + b'{"format": 1}\n' + PAYLOAD, "header"),
        (lambda data: fileformat.MAGIC + b"{truncated", "header"),
        (lambda data: b"", "not a local-cloud snapshot"),
    ],
    ids=["truncated", "flipped-bit", "foreign-file", "incomplete-header", "no-newline", "empty"],
)
def test_a_damaged_snapshot_is_reported_as_broken(folder: Path, damage, message: str) -> None:
    path = write(folder)
    path.write_bytes(damage(path.read_bytes()))
    os.chmod(path, 0o600)
    with pytest.raises(BrokenSnapshot, match=message):
        fileformat.read_verified(path)


def test_a_header_with_a_port_out_of_range_is_broken(folder: Path) -> None:
    path = write(folder)
    data = path.read_bytes().replace(b'"gateway_port": 4567', b'"gateway_port": 70000')
    path.write_bytes(data)
    with pytest.raises(BrokenSnapshot):
        fileformat.read_header(path)


# -- ownership ---------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="owner ids and modes are POSIX")
class TestOwnership:
    def test_a_file_others_can_write_is_refused(self, folder: Path) -> None:
        path = write(folder)
        for mode in (0o620, 0o602, 0o666):
            os.chmod(path, mode)
            with pytest.raises(UntrustedSnapshot, match="other users can write"):
                fileformat.check_trusted(path)

    def test_a_file_of_another_user_is_refused(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write(folder)
        real_uid = os.getuid()
        real_stat = os.stat

        # The folder stays ours; only the file's owner differs.
        def stat_as_other(target, *args, **kwargs):  # type: ignore[no-untyped-def]
            result = real_stat(target, *args, **kwargs)
            if Path(target) == path:
                values = list(result)
                values[stat.ST_UID] = real_uid + 1
                return os.stat_result(values)
            return result

        monkeypatch.setattr(fileformat.os, "lstat", stat_as_other)
        with pytest.raises(UntrustedSnapshot, match="another user"):
            fileformat.check_trusted(path)

    def test_a_folder_of_another_user_or_open_to_all_is_refused(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write(folder)
        os.chmod(folder, 0o777)
        with pytest.raises(UntrustedFolder, match="anyone can write"):
            fileformat.check_trusted(path)
        os.chmod(folder, 0o700)
        monkeypatch.setattr(fileformat.os, "getuid", lambda: os.stat(folder).st_uid + 1)
        with pytest.raises(UntrustedFolder, match="another user"):
            fileformat.check_trusted(path)

    def test_a_symbolic_link_is_refused_even_to_a_good_snapshot(
        self, folder: Path, tmp_path: Path
    ) -> None:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        real = write(elsewhere)
        link = fileformat.snapshot_path(folder)
        link.symlink_to(real)
        with pytest.raises(UntrustedSnapshot, match="not a regular file"):
            fileformat.check_trusted(link)

    def test_a_group_writable_folder_of_the_user_is_accepted(self, folder: Path) -> None:
        # Ubuntu's umask 002 makes folders group-writable for the user's own group; the file
        # itself is still checked.
        path = write(folder)
        os.chmod(folder, 0o770)
        fileformat.check_trusted(path)


# -- setting aside -----------------------------------------------------------------------------------


def test_setting_aside_renames_and_never_overwrites(folder: Path) -> None:
    first = write(folder, b"one")
    kept_first = fileformat.set_aside(first, "broken")
    second = write(folder, b"two")
    kept_second = fileformat.set_aside(second, "broken")
    assert kept_first and kept_second and kept_first != kept_second
    assert kept_first.name.startswith("snapshot.pickle.broken-")
    assert fileformat.read_verified(kept_first)[1] == b"one"
    assert fileformat.read_verified(kept_second)[1] == b"two"
    assert not fileformat.snapshot_path(folder).exists()
    assert fileformat.set_aside_files(folder) == sorted([kept_first, kept_second])


def test_the_notice_is_taken_once(folder: Path) -> None:
    fileformat.write_notice(folder, ["Restored your work.", "Ports changed."])
    assert fileformat.take_notice(folder) == ["Restored your work.", "Ports changed."]
    assert fileformat.take_notice(folder) == []
    fileformat.write_notice(folder, ["old"])
    fileformat.write_notice(folder, [])  # a start with nothing to say removes an old notice
    assert fileformat.take_notice(folder) == []


# -- ports -------------------------------------------------------------------------------------------


def test_a_new_start_asks_for_the_ports_of_the_saved_state(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.ENDPOINT_PORT_ENV, raising=False)
    monkeypatch.delenv(config.GATEWAY_PORT_ENV, raising=False)
    assert ports.preferred_ports(folder, None, None) == (4566, 4567)  # no snapshot: defaults
    write(folder, endpoint_port=41001, gateway_port=41002)
    assert ports.preferred_ports(folder, None, None) == (41001, 41002)
    assert ports.preferred_ports(folder, 0, None) == (0, 41002)  # explicit wins
    monkeypatch.setenv(config.GATEWAY_PORT_ENV, "5000")  # the learner's variable wins
    assert ports.preferred_ports(folder, None, None) == (41001, 5000)


def test_an_unreadable_snapshot_remembers_no_ports(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.ENDPOINT_PORT_ENV, raising=False)
    monkeypatch.delenv(config.GATEWAY_PORT_ENV, raising=False)
    fileformat.snapshot_path(folder).write_bytes(b"garbage")
    assert ports.preferred_ports(folder, None, None) == (4566, 4567)


# -- status and reset helpers ------------------------------------------------------------------------


def test_status_shows_age_size_and_content(folder: Path) -> None:
    path = write(folder, summary={"tables": 1, "items": 3, "functions": 1, "rest_apis": 1})
    created = fileformat.read_header(path).created_at
    (line,) = control.status_lines(folder, now=created + 125)
    assert str(path) in line and "2 min ago" in line
    assert "1 table (3 items), 1 function" in line and "1 REST API" in line
    document = control.status_document(folder, now=created + 125)
    assert document is not None
    assert document["size_bytes"] == path.stat().st_size and document["age_s"] == 125.0


def test_status_without_a_snapshot_says_so(folder: Path) -> None:
    assert control.status_lines(folder)[0].startswith("saved state: none yet")
    assert control.status_document(folder) is None


def test_a_fresh_start_keeps_the_old_snapshot_aside(folder: Path) -> None:
    path = write(folder, b"work")
    kept = control.set_aside_for_fresh_start(folder)
    assert kept is not None and kept.name.startswith("snapshot.pickle.before-fresh-")
    assert not path.exists() and fileformat.read_verified(kept)[1] == b"work"
    assert control.set_aside_for_fresh_start(folder) is None  # nothing to keep


class _Input:
    def __init__(self, answer: str, tty: bool) -> None:
        self.answer, self.tty, self.closed = answer, tty, False

    def isatty(self) -> bool:
        return self.tty

    def readline(self) -> str:
        return self.answer


def test_reset_asks_on_a_terminal_and_refuses_without_one(folder: Path) -> None:
    import io

    out = io.StringIO()
    assert control.confirm_reset(folder, stdin=_Input("yes\n", True), out=out) is True
    assert "Type 'yes'" in out.getvalue()
    assert control.confirm_reset(folder, stdin=_Input("no\n", True), out=out) is False
    assert control.confirm_reset(folder, stdin=_Input("", True), out=out) is False  # end of input
    with pytest.raises(control.ResetRefused, match="--yes"):
        control.confirm_reset(folder, stdin=_Input("yes\n", False), out=out)


def test_delete_saved_state_removes_the_snapshot_and_keeps_what_was_set_aside(folder: Path) -> None:
    kept = fileformat.set_aside(write(folder, b"old"), "broken")
    write(folder, b"current")
    assert control.delete_saved_state(folder) is True
    assert not fileformat.snapshot_path(folder).exists()
    assert kept is not None and kept.exists()
    assert control.delete_saved_state(folder) is False


def test_the_first_cell_of_a_notebook_prints_the_notice_once(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workshop import target

    local = target.Target(
        name=target.LOCAL,
        region="us-east-1",
        account_id="123456789012",
        endpoint="http://127.0.0.1:4566",
        gateway="http://127.0.0.1:4567",
    )
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(folder))
    monkeypatch.setenv("WORKSHOP_TARGET", target.LOCAL)
    monkeypatch.setattr(target, "_connect_local", lambda: local)
    fileformat.write_notice(folder, ["Restored your local cloud's saved state (...): 1 table."])

    target.connect()
    first = capsys.readouterr().out.splitlines()
    target.connect()
    second = capsys.readouterr().out.splitlines()

    assert first == [
        target.describe(local),
        "Restored your local cloud's saved state (...): 1 table.",
    ]
    assert second == [target.describe(local)]
