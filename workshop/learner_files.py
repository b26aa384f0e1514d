"""Learner files generated from the solutions: one source of truth.

A solution is written once, in ``solutions/``. The learner notebooks (``notebooks/``) and the
Lambda starter files (``labs/02-lambda-function/``) are generated from it by replacing every
region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the nbgrader convention) with a
TODO placeholder::

    # TODO: <hint>
    raise NotImplementedError("TODO: <hint>")

so a learner's run stops at the first piece of work left, with a message saying what it is.
The hint comes from the marker line (``### BEGIN SOLUTION: create the table``) or is generic;
it names the call and the idea, and is wrapped at :data:`WIDTH` characters so it never runs off
the screen. ``### HINT: <text>`` lines right inside a region are the second level of help (the
arguments, never the whole line): in a notebook they go into a collapsed ``<details>`` block in
a markdown cell inserted below the TODO cell; in a starter file they become comment lines under
the TODO.

A second, rarer pair, ``### BEGIN SOLUTION ONLY`` / ``### END SOLUTION ONLY``, is removed
without a placeholder: code that must run in the solution notebook but not in the learner's
(the solution notebook runs the reference Lambda, the learner's notebook runs the learner's).

Learner notebooks are stored without any output: a learner sees only what their own run
printed, never the author's (another port, another owner) beside a TODO that has not run. Where
the expected output helps, the solution cell is tagged ``you-should-see`` and the inserted
markdown cell below it shows the reference run's text output as a "You should see" block.
``tests/notebooks`` regenerates everything in memory and fails when a committed file is stale.
"""

from __future__ import annotations

import copy
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workshop.labs import LABS, LAMBDA_FILES, LEARNER_LAMBDA_DIR
from workshop.paths import NOTEBOOKS_DIR, REPO_ROOT, SOLUTION_LAMBDA_DIR, SOLUTION_NOTEBOOKS_DIR

if TYPE_CHECKING:
    import nbformat

# nbformat is imported where it is used: it takes seconds to import (jsonschema), and
# workshop.notebooks (imported by every notebook's first cell) needs TODO_MARK from here.

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
ONLY = "ONLY"
DEFAULT_HINT = "write this part (the text above says what it must do)"
LAMBDA_DEFAULT_HINT = "write this part (the docstring above says what it must do)"
# What every generated placeholder contains: workshop.notebooks.find_todos looks for it to tell
# whether a learner's lab 02 files are finished.
TODO_MARK = 'raise NotImplementedError("TODO'
MARKDOWN_PLACEHOLDER = "**TODO:** {hint}"
# Cells whose failure means "TODO work is left elsewhere" (lab 02's starter files): the
# learner-notebook test accepts a stop there, as at a generated TODO cell.
TODO_TAG = "todo"
# Cells whose stored text output is shown to the learner as a "You should see" block.
SHOW_OUTPUT_TAG = "you-should-see"
# Generated hint cells carry this metadata, so tools can tell them from the solution's cells.
HELP_CELL_METADATA = "workshop_help"
# The widest a generated line may be: a notebook cell shows about 100 characters.
WIDTH = 100
# How much of a reference output a "You should see" block shows.
SHOWN_OUTPUT_LINES = 30
HINT_SUMMARY = "Hint: the arguments"
SEE_INTRO = ("**You should see** something like this (the reference run on the local cloud: "
             "your names, ids, ports and times differ):")

# A stray "### BEGIN SOLUTIONS" or "### END" must not be ignored silently: the solution would
# leak into the learner's copy. Any line that starts like a marker must parse as one.
_MARKER_LIKE = re.compile(r"^\s*###\s*(BEGIN|END)\b")
_MARKER = re.compile(
    r"^(?P<indent>\s*)### (?P<kind>BEGIN|END) SOLUTION(?P<only> ONLY)?(?:\s*[:\-—]\s*(?P<hint>.*\S))?\s*$"
)
# The second level of help, inside a region: "### HINT: <text>" (several lines add up).
_HINT_LIKE = re.compile(r"^\s*###\s*HINT")
_HINT = re.compile(r"^\s*### HINT:(?: (?P<text>.*?))?\s*$")


class MarkerError(ValueError):
    """A solution region is malformed; the message names the file and line."""


@dataclass(frozen=True)
class _Marker:
    kind: str  # BEGIN or END
    only: bool
    indent: str
    hint: str | None


def _parse_marker(line: str, origin: str, lineno: int) -> _Marker | None:
    if not _MARKER_LIKE.match(line):
        return None
    match = _MARKER.match(line)
    if not match:
        raise MarkerError(
            f"{origin}:{lineno}: {line.strip()!r} looks like a solution marker but is not one; "
            f"write exactly '{BEGIN}' / '{END}' (optionally '{BEGIN}: <hint>'), or "
            f"'{BEGIN} {ONLY}' / '{END} {ONLY}'."
        )
    if match["kind"] == "END" and match["hint"]:
        raise MarkerError(f"{origin}:{lineno}: an END marker takes no hint: {line.strip()!r}")
    return _Marker(match["kind"], bool(match["only"]), match["indent"], match["hint"])


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters (a long word stays whole)."""
    return textwrap.wrap(text, width=max(width, 20), break_long_words=False,
                         break_on_hyphens=False) or [""]


def _quoted_pieces(text: str, width: int) -> list[str]:
    """``text`` as Python string literals of at most ``width`` characters that add up to it.

    Each piece but the last keeps its trailing space, so implicit concatenation gives back
    exactly ``text``.
    """
    pieces: list[str] = []
    current = ""
    for word in re.findall(r"\S+\s*", text):
        candidate = current + word
        literal = '"' + candidate.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if current and len(literal) > width:
            pieces.append(current)
            current = word
        else:
            current = candidate
    pieces.append(current)
    return ['"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in pieces]


def _placeholder(indent: str, hint: str, markdown: bool, more: list[str] | None = None,
                 more_below: bool = False) -> list[str]:
    """The TODO that replaces a region: a wrapped comment, then a raise that says the same.

    ``more`` (a starter file's second-level hint) becomes comment lines; ``more_below`` says
    that a notebook's hint cell below holds them.
    """
    if markdown:
        return [indent + MARKDOWN_PLACEHOLDER.format(hint=hint)]
    comment = hint + (" (stuck? open the hint below this cell)" if more_below else "")
    lines = _wrap(comment, WIDTH - len(indent) - len("# TODO: "))
    out = [f"{indent}# TODO: {lines[0]}"] + [f"{indent}#       {line}" for line in lines[1:]]
    for text in more or []:
        wrapped = _wrap(text, WIDTH - len(indent) - len("# Hint: "))
        out += [f"{indent}# Hint: {wrapped[0]}"] + [f"{indent}#       {w}" for w in wrapped[1:]]
    opening = f"{indent}raise NotImplementedError("
    pieces = _quoted_pieces("TODO: " + hint, WIDTH - len(opening) - 1)
    out.append(opening + pieces[0] + (")" if len(pieces) == 1 else ""))
    for number, piece in enumerate(pieces[1:], start=2):
        out.append(" " * len(opening) + piece + (")" if number == len(pieces) else ""))
    return out


@dataclass
class Stripped:
    """A source with its regions replaced, and the second-level hints its regions held."""

    source: str
    hints: list[tuple[str, list[str]]] = field(default_factory=list)  # (first hint, lines)


def strip_solutions(
    source: str, *, origin: str = "<source>", markdown: bool = False, default_hint: str = DEFAULT_HINT
) -> str:
    """Return ``source`` with every solution region replaced (or, for ONLY regions, removed).

    ``### HINT:`` lines become comment lines under the TODO (see :func:`strip_with_hints` for
    the notebook form, which moves them to a cell of their own).
    Raises :class:`MarkerError` for an unmatched, nested or misspelt marker.
    """
    return strip_with_hints(source, origin=origin, markdown=markdown, default_hint=default_hint,
                            hints_inline=True).source


def strip_with_hints(
    source: str, *, origin: str = "<source>", markdown: bool = False,
    default_hint: str = DEFAULT_HINT, hints_inline: bool = False,
) -> Stripped:
    """:func:`strip_solutions`, also returning each region's ``### HINT:`` lines.

    With ``hints_inline`` false the hints are left out of the source (a notebook shows them in
    a collapsed block below the cell) and the TODO says where to find them.
    """
    lines = source.split("\n")
    out: list[str] = []
    hints: list[tuple[str, list[str]]] = []
    open_marker: _Marker | None = None
    open_hints: list[str] = []
    open_line = 0
    for lineno, line in enumerate(lines, start=1):
        if _HINT_LIKE.match(line):
            match = _HINT.match(line)
            if open_marker is None or open_marker.only or not match:
                raise MarkerError(
                    f"{origin}:{lineno}: {line.strip()!r}: a hint is written '### HINT: <text>' "
                    "inside a solution region (after its BEGIN marker)."
                )
            open_hints.append(match["text"] or "")
            continue
        marker = _parse_marker(line, origin, lineno)
        if marker is None:
            if open_marker is None:
                out.append(line)
            continue
        if marker.kind == "BEGIN":
            if open_marker is not None:
                raise MarkerError(
                    f"{origin}:{lineno}: solution regions cannot nest; the region opened on "
                    f"line {open_line} is still open (add its END marker first)."
                )
            open_marker, open_line, open_hints = marker, lineno, []
            continue
        if open_marker is None:
            raise MarkerError(f"{origin}:{lineno}: '{line.strip()}' has no BEGIN marker before it.")
        if marker.only != open_marker.only:
            raise MarkerError(
                f"{origin}:{lineno}: '{line.strip()}' closes the region opened on line "
                f"{open_line} with the other kind of marker (SOLUTION versus SOLUTION ONLY)."
            )
        if not open_marker.only:
            hint = open_marker.hint or default_hint
            more = [" ".join(text for text in open_hints if text)] if open_hints else []
            out.extend(_placeholder(open_marker.indent, hint, markdown,
                                    more=more if hints_inline else None,
                                    more_below=bool(more) and not hints_inline))
            if open_hints:
                hints.append((hint, open_hints))
        open_marker = None
    if open_marker is not None:
        raise MarkerError(
            f"{origin}:{open_line}: this solution region is never closed (add '{END}"
            f"{' ' + ONLY if open_marker.only else ''}')."
        )
    return Stripped("\n".join(out), hints)


def has_markers(source: str) -> bool:
    """Whether ``source`` has anything marker-like (a region, or a stray hint line)."""
    return any(_MARKER_LIKE.match(line) or _HINT_LIKE.match(line) for line in source.split("\n"))


def _check_compiles(solution: str, generated: str, origin: str) -> None:
    """A placeholder must leave valid Python, or the learner's file fails before any TODO."""
    try:
        compile(solution, origin, "exec")
    except SyntaxError:
        return  # IPython syntax (magics): nothing to compare against
    try:
        compile(generated, origin, "exec")
    except SyntaxError as error:
        raise MarkerError(
            f"{origin}: the learner version does not compile ({error.msg}, line {error.lineno}); "
            "move the markers so that each region is whole statements inside one block."
        ) from error


# --- notebooks -----------------------------------------------------------------------------


def learner_notebook(solution: nbformat.NotebookNode, *, origin: str) -> nbformat.NotebookNode:
    """The learner version of one solution notebook: TODOs for solutions, and no outputs.

    Below a TODO cell with second-level hints, or a cell tagged ``you-should-see``, a markdown
    cell is inserted with a collapsed hint block and the reference run's output.
    """
    import nbformat

    learner = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(learner.cells):
        if cell.cell_type == "code":
            # Outputs are the learner's own: the author's (another port, another owner, a TODO
            # that "ran") would only mislead.
            shown = text_output(cell) if SHOW_OUTPUT_TAG in cell.metadata.get("tags", []) else ""
            cell.outputs = []
            cell.execution_count = None
        else:
            shown = ""
        hints: list[tuple[str, list[str]]] = []
        if has_markers(cell.source):
            where = f"{origin} cell {index}"
            markdown = cell.cell_type != "code"
            stripped = strip_with_hints(cell.source, origin=where, markdown=markdown)
            if not markdown:
                _check_compiles(cell.source, stripped.source, where)
            cell.source = stripped.source
            hints = stripped.hints
        cells.append(cell)
        if hints or shown:
            help_cell = nbformat.v4.new_markdown_cell(help_markdown(hints, shown))
            help_cell.metadata[HELP_CELL_METADATA] = True
            if "id" in cell:
                help_cell["id"] = (str(cell["id"])[:59] + "-help")
            cells.append(help_cell)
    learner.cells = cells
    learner.metadata["workshop"] = {
        "generated_from": Path(origin).as_posix(),
        "note": "Generated by scripts/generate_learner_files.py; edit the solution instead.",
    }
    return learner


def text_output(cell: nbformat.NotebookNode) -> str:
    """The text a code cell printed (stdout and plain-text results), at most a screenful."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            text = output.get("text", "")
        elif output.get("output_type") in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain", "")
        else:
            continue
        parts.append(text if isinstance(text, str) else "".join(text))
    lines = "".join(parts).rstrip("\n").split("\n")
    if len(lines) > SHOWN_OUTPUT_LINES:
        lines = lines[:SHOWN_OUTPUT_LINES] + ["..."]
    return "\n".join(lines).strip("\n")


def help_markdown(hints: list[tuple[str, list[str]]], shown: str) -> str:
    """The markdown below a TODO cell: collapsed second-level hints, then the expected output."""
    blocks = []
    for number, (_, lines) in enumerate(hints, start=1):
        summary = HINT_SUMMARY if len(hints) == 1 else f"{HINT_SUMMARY} (TODO {number} of {len(hints)})"
        body = "\n".join(lines).strip()
        blocks.append(f"<details><summary>{_escape_html(summary)}</summary>\n\n{body}\n\n</details>")
    if shown:
        fence = "````" if "```" in shown else "```"
        blocks.append(f"{SEE_INTRO}\n\n{fence}text\n{shown}\n{fence}")
    return "\n\n".join(blocks)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text a notebook is stored as (stable, so the stale check can compare)."""
    import nbformat

    return nbformat.writes(nb, version=4) + "\n"


def solution_notebooks() -> list[Path]:
    """The solution notebooks, in lab order: the sources of ``notebooks/``."""
    return [SOLUTION_NOTEBOOKS_DIR / f"{name}.ipynb" for name in LABS.values()]


def lambda_starter_text(solution_file: Path) -> str:
    """A lab 02 starter file: the reference Lambda file with its solutions cut out."""
    origin = solution_file.relative_to(REPO_ROOT).as_posix()
    source = solution_file.read_text(encoding="utf-8")
    stripped = strip_solutions(source, origin=origin, default_hint=LAMBDA_DEFAULT_HINT)
    _check_compiles(source, stripped, origin)
    header = (
        f"# Lab 02 starter file, generated from {origin}: replace every TODO with your code.\n"
    )
    return header + stripped


def generated_files() -> dict[Path, str]:
    """Every learner file, as it should be on disk, keyed by path."""
    files: dict[Path, str] = {}
    for path in solution_notebooks():
        if not path.exists():
            continue
        import nbformat

        origin = path.relative_to(REPO_ROOT).as_posix()
        solution = nbformat.read(path, as_version=4)
        files[NOTEBOOKS_DIR / path.name] = notebook_text(learner_notebook(solution, origin=origin))
    for name in LAMBDA_FILES:
        source = SOLUTION_LAMBDA_DIR / name
        if source.exists():
            files[LEARNER_LAMBDA_DIR / name] = lambda_starter_text(source)
    return files


def stale_files() -> list[Path]:
    """Generated files that are missing or differ from what the solutions produce."""
    return [
        path
        for path, text in generated_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write_generated_files() -> list[Path]:
    """Write every stale learner file; return the paths written."""
    written = []
    for path, text in generated_files().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``scripts/generate_learner_files.py [--check]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="generate_learner_files.py",
        description="Generate notebooks/*.ipynb and labs/02-lambda-function/*.py from solutions/.",
    )
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files()
            for path in stale:
                print(f"stale: {path.relative_to(REPO_ROOT)}")
            if stale:
                print("Run `make generate` to regenerate them.")
            return 1 if stale else 0
        written = write_generated_files()
    except MarkerError as error:
        print(f"generate: {error}")
        return 1
    for path in written:
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    print(f"{len(written)} file(s) written" if written else "All learner files are up to date.")
    return 0
