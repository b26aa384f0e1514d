"""One whole cleanup: discover, confirm, delete in order, then discover again to prove it.

The final discovery is the proof the write-up asks for: a forgotten API, function or table keeps
costing money, so "no error" is not enough; "nothing found any more" is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from workshop.cleanup.deletion import Deleter, Outcome
from workshop.cleanup.discovery import Discovery
from workshop.cleanup.errors import CleanupError
from workshop.cleanup.resources import Resource


@dataclass
class Report:
    """The result of :meth:`Cleaner.run`."""

    found: list[Resource] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    remaining: list[Resource] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every discovery could look everywhere (nothing was refused)."""
        return not self.warnings

    @property
    def ok(self) -> bool:
        if not self.complete:
            return False  # what could not be looked at may still be there
        if self.dry_run:
            return True
        return not self.remaining and all(outcome.ok for outcome in self.outcomes)


class Cleaner(Deleter):
    """Deletes discovered resources in dependency order and verifies nothing is left.

    ``sleep`` and ``out`` are injectable so tests run without waiting and can read the output.
    """

    def run(self, owner: str | None, *, dry_run: bool = False, include_budget: bool = False,
            confirm: Callable[[list[Resource]], bool] | None = None,
            found: list[Resource] | None = None) -> Report:
        """Discover, (confirm,) delete and verify. ``owner`` None means every owner."""
        discovery = Discovery(self.clients, owner, include_budget=include_budget)
        report = Report(dry_run=dry_run)
        report.found = found if found is not None else discovery.all()
        report.warnings += discovery.warnings
        for warning in report.warnings:
            self.say(f"warning: {warning}")
        whose = f"{discovery.owner}'s" if discovery.owner else "the workshop's"
        if not report.found:
            if report.complete:
                self.say(f"Nothing of {whose} was found: there is nothing to delete.")
            else:
                self.say(f"{self.marks.fail} Nothing of {whose} was found where cleanup could "
                         "look, but it could not look everywhere (warnings above): it cannot "
                         "tell whether anything is left.")
            return report
        self.say(f"Found {len(report.found)} of {whose} resources:")
        for resource in report.found:
            owner_note = "" if discovery.owner else f"  (owner {resource.owner})"
            self.say(f"  - {resource.describe()}{owner_note}")
        if dry_run:
            self.say("Dry run: nothing was deleted. Run again without --dry-run to delete these.")
            return report
        if confirm is not None and not confirm(report.found):
            raise CleanupError("Cleanup cancelled: nothing was deleted.")
        self.say("Deleting, in dependency order:")
        report.outcomes = self.delete_all(report.found)
        self.say("Verifying that nothing is left ...")
        verify = Discovery(self.clients, owner, include_budget=include_budget)
        report.remaining = verify.all()
        for warning in verify.warnings:
            if warning not in report.warnings:
                report.warnings.append(warning)
                self.say(f"warning: {warning}")
        if report.remaining:
            self.say(f"{self.marks.fail} {len(report.remaining)} resource(s) are still there:")
            for resource in report.remaining:
                self.say(f"  - {resource.describe()}")
            self.say("Run the cleanup again; if the same resources stay, the errors above say why.")
        elif not report.complete:
            self.say(f"{self.marks.fail} Nothing of {whose} is left where cleanup could look, "
                     "but it could not look everywhere (warnings above).")
        elif all(outcome.ok for outcome in report.outcomes):
            self.say(f"{self.marks.ok} Nothing of {whose} is left.")
        else:
            self.say(f"{self.marks.fail} Nothing is left to find, but some steps failed (see above).")
        return report
