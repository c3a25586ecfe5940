"""Mutation check: put deliberate bugs into the core one at a time and see which the tests catch.

Each mutant names a file under ``src/ordersync``, an exact snippet of it and its replacement.
The script copies ``src/`` and ``tests/`` to a temporary directory, applies ONE mutant to the
copy, and runs that mutant's tests there (``PYTHONPATH`` puts the copy's ``src`` first, which
the script checks); the working tree is never touched, so Ctrl-C or a crash leaves nothing to
undo. A mutant is *killed* when a test fails, *survived* when every selected test passes.

When the code has moved, a snippet no longer matches: the mutant is reported as
``snippet not found`` (or ``snippet ambiguous`` when it matches twice) and must be updated.

Usage::

    .venv/bin/python bench/mutants.py                 # every mutant, its own tests (SQLite)
    .venv/bin/python bench/mutants.py --only plan-duplicates-by-distinct-hash
    .venv/bin/python bench/mutants.py --full          # each mutant against the whole suite
    .venv/bin/python bench/mutants.py --check         # snippets only, no tests (seconds)
    .venv/bin/python bench/mutants.py --list

By default only SQLite runs (``-k "not postgres"``: most mutants are dialect-neutral); use
``--postgres`` to run the selected tests on both databases. A mutant of code that runs on
PostgreSQL only (``postgres=True``) always runs its tests there. A kill only counts when the same
tests pass on the unchanged tree: when a verdict looks odd, run the named test there.
Exit code: 0 when every mutant was killed, 1 when some survived, 2 when a snippet no longer
matches or a run errored.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path("src/ordersync")


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: ``original`` (exact, once in ``path``) becomes ``replacement``."""

    name: str
    path: str  # relative to src/ordersync
    original: str
    replacement: str
    tests: tuple[str, ...]  # pytest node ids or paths, relative to the repository
    why: str
    postgres: bool = False  # the mutated code runs on PostgreSQL only: so do its tests

    def apply(self, text: str) -> str:
        count = text.count(self.original)
        if count == 0:
            raise SnippetError("snippet not found")
        if count > 1:
            raise SnippetError(f"snippet ambiguous ({count} matches)")
        return text.replace(self.original, self.replacement)


class SnippetError(Exception):
    pass


SYNC = "tests/test_sync.py"
CHANGES = "tests/test_changes.py"
PULL = "tests/test_pull.py"
ONCE = "tests/test_exactly_once.py"
DELIVER = "tests/test_deliver.py"
ROWS = "tests/test_rows.py"
JOURNAL = "tests/test_journal.py"

MUTANTS: tuple[Mutant, ...] = (
    # --- the four issue 11 found surviving ------------------------------------------------
    Mutant(
        "plan-duplicates-by-distinct-hash",
        "push/plan.py",
        ".group_by(scan.c.order_key)\n            .having(sa.func.count() > 1)",
        ".group_by(scan.c.order_key)\n"
        "            .having(sa.func.count(sa.distinct(scan.c.row_hash)) > 1)",
        ("tests/test_duplicate_keys.py", "tests/test_plan.py", "tests/test_bad_rows.py"),
        "two identical rows under one key are let through (one item, never rejected)",
    ),
    Mutant(
        "deliver-resend-after-the-cache-window",
        "push/deliver.py",
        "IDEMPOTENCY_WINDOW = timedelta(minutes=25)",
        "IDEMPOTENCY_WINDOW = timedelta(minutes=45)",
        (DELIVER, "tests/test_resend_window.py", ONCE),
        "a request resent after monday forgot its key (30 min) is applied twice",
    ),
    Mutant(
        "deliver-retryable-alias-fails-the-row",
        "push/deliver.py",
        'elif result.outcome == "failed" and result.error and not result.error.retryable:',
        'elif result.outcome == "failed" and result.error:',
        (DELIVER, "tests/test_alias_errors.py", "tests/test_bad_rows.py", ONCE),
        "one alias throttled or locked is failed for good instead of sent again",
    ),
    Mutant(
        "recorder-subitem-drift-keeps-parent-hash",
        "pull/recorder.py",
        "            writes.parents_to_replan.add(row.order_key)\n",
        "",
        ("tests/test_recorder.py", "tests/test_subitem_drift.py", PULL),
        "a hand-edited subitem quantity is never put back (its line is not planned again)",
    ),
    # --- plan -------------------------------------------------------------------------------
    Mutant(
        "plan-cleared-hash-not-replanned",
        "push/plan.py",
        "            mirror.c.row_hash.is_(None),\n",
        "",
        (PULL, "tests/test_bad_rows.py", "tests/test_subitem_drift.py"),
        "a mirror row whose hash was cleared (refused change, drift) is never diffed again",
    ),
    Mutant(
        "plan-archives-outside-the-po",
        "push/plan.py",
        "conditions = [mirror.c.customer == self.customer]\n"
        "        for column, wanted in (\n"
        "            (mirror.c.po_number, self.scope.po_number),\n",
        "conditions = [mirror.c.customer == self.customer]\n        for column, wanted in (\n",
        (CHANGES,),
        "a sync of one PO archives the customer's other POs",
    ),
    # (plan-bad-row-looks-deleted is gone: a bad row's key is also found in the source by
    # stage_archives' moved-line check, so dropping its REJECTED scan row changes nothing.)
    Mutant(
        "plan-cleared-value-not-sent",
        "push/plan.py",
        "for c in sorted(set(old_values) | set(new)) if new.get(c) != old_values.get(c)",
        "for c in sorted(set(new)) if new.get(c) != old_values.get(c)",
        (CHANGES, "tests/test_diff_line.py"),
        "a value emptied in the source stays on the board",
    ),
    Mutant(
        "plan-size-removed-not-archived",
        "push/plan.py",
        "            sizes.append((Action.ARCHIVE, size, qty, None))",
        "            pass",
        (CHANGES, "tests/test_diff_line.py"),
        "a size dropped from a line keeps its subitem on the board",
    ),
    # --- lines / normalize ----------------------------------------------------------------------
    Mutant(
        "lines-hash-ignores-the-name",
        "push/lines.py",
        """f'{{"group":{_CANONICAL(group)},"name":{_CANONICAL(name)},'""",
        """f'{{"group":{_CANONICAL(group)},'""",
        ("tests/test_row_hash.py", "tests/test_lines.py", CHANGES),
        "a renamed line (style, colour) is never sent",
    ),
    Mutant(
        "lines-memo-ignores-the-type",
        "push/lines.py",
        "key = raw if type(raw) is str else (type(raw), raw)",
        "key = raw",
        ("tests/test_lines.py",),
        "a cell of 1 read after a cell of True (equal in Python) takes True's value",
    ),
    Mutant(
        "lines-fragments-in-config-order",
        "push/lines.py",
        "enumerate(sorted(c.column_id for c in columns))",
        "enumerate(c.column_id for c in columns)",
        ("tests/test_lines.py", "tests/test_row_hash.py"),
        "values_json is no longer the canonical encoding: every row hash changes",
    ),
    Mutant(
        "plan-staged-ids-out-of-order",
        "push/plan.py",
        'return f"{self.prefix}{self.count:08x}-{0:011d}"',
        'return f"{self.prefix}{uuid.uuid4().hex[:8]}-{0:011d}"',
        ("tests/test_plan.py",),
        "staged ids in random order: each COPY inserts all over the staged tables' indexes",
    ),
    Mutant(
        "lines-name-length-off-by-one",
        "push/lines.py",
        "elif len(name) > MAX_ITEM_NAME:",
        "elif len(name) >= MAX_ITEM_NAME:",
        ("tests/test_item_names.py", "tests/test_lines.py"),
        "a name of exactly 255 characters (monday's limit) is rejected",
    ),
    Mutant(
        "normalize-fractional-quantity-truncated",
        "push/normalize.py",
        "    if number != number.to_integral_value():\n        raise RowRejected(\n"
        '            "INVALID_QUANTITY"',
        '    if False:\n        raise RowRejected(\n            "INVALID_QUANTITY"',
        ("tests/test_normalize.py", "tests/test_lines.py"),
        "a quantity of 2.5 becomes 2 silently",
    ),
    Mutant(
        "normalize-nan-is-a-value",
        "push/normalize.py",
        'EMPTY_MARKERS = frozenset({"", "nan", "none", "null", "nat", "n/a"})',
        'EMPTY_MARKERS = frozenset({"", "none", "null", "nat", "n/a"})',
        ("tests/test_normalize.py", "tests/test_lines.py"),
        "pandas' 'nan' is sent as the text nan",
    ),
    Mutant(
        "normalize-trailing-zero-kept",
        "push/normalize.py",
        "    number = number.normalize()\n",
        "",
        ("tests/test_normalize.py", "tests/test_lines.py"),
        "18.50 and 18.5 hash differently: a re-typed price is sent again",
    ),
    Mutant(
        "column-types-value-map-on-text",
        "column_types.py",
        "        if text is not None and value_map and self.has_labels:\n",
        "        if text is not None and value_map:\n",
        ("tests/test_column_types.py", "tests/test_normalize.py", "tests/test_lines.py"),
        "a value map rewrites text columns too, unlike the lines the row hash was built from",
    ),
    Mutant(
        "column-types-dropdown-read-back-not-split",
        "column_types.py",
        "        if self.many_labels and isinstance(read, str) and read:\n",
        "        if False:\n",
        ("tests/test_column_types.py", "tests/test_recorder.py", "tests/test_subitem_drift.py"),
        "a dropdown filled by hand with two labels is recorded as one label 'A, B'",
    ),
    # --- deliver / rows -------------------------------------------------------------------------
    Mutant(
        "rows-chunk-one-too-many",
        "push/rows.py",
        "                    .order_by(self.staged.c.order_key, self.staged.c.stg_id)\n"
        "                    .limit(limit)",
        "                    .order_by(self.staged.c.order_key, self.staged.c.stg_id)\n"
        "                    .limit(limit + 1)",
        (ROWS, "tests/test_chunking.py", SYNC),
        "requests carry one alias more than configured (monday caps aliases per request)",
    ),
    Mutant(
        "budget-ignores-what-is-left",
        "monday/budget.py",
        "    left = pacer.left(now)\n",
        "    left = None\n",
        ("tests/monday/test_budget.py", "tests/test_chunking.py"),
        "every chunk is sized for a whole window: the rest of a window is waited out unused",
    ),
    Mutant(
        "budget-ignores-the-price",
        "monday/budget.py",
        "cost = pacer.alias_cost(field) or UNMEASURED_ALIAS_COST",
        "cost = float(UNMEASURED_ALIAS_COST)",
        ("tests/monday/test_budget.py", "tests/test_chunking.py"),
        "chunks keep the cautious first estimate: a dearer price overruns a window (429s)",
    ),
    Mutant(
        "rows-subitem-qty-not-promoted",
        "push/rows.py",
        "            qty=row.qty,\n            row_hash=row.row_hash,\n",
        "            row_hash=row.row_hash,\n",
        (ROWS, "tests/test_subitem_drift.py", CHANGES),
        "an updated quantity is not recorded in the mirror: resent by every later sync",
    ),
    Mutant(
        "rows-refused-change-keeps-hash",
        "push/rows.py",
        "        add_counts(connection, self.tables, batch_id, {self.failed: 1})\n"
        "        self.mirror.forget_hashes(connection, [row.order_key])",
        "        add_counts(connection, self.tables, batch_id, {self.failed: 1})",
        (ROWS, "tests/test_bad_rows.py", "tests/test_alias_errors.py"),
        "a change monday refused is never tried again (the mirror believes it arrived)",
    ),
    Mutant(
        "rows-attempts-not-counted",
        "push/rows.py",
        ".values(request_id=request_id, attempts=self.staged.c.attempts + 1)",
        ".values(request_id=request_id, attempts=self.staged.c.attempts)",
        (ROWS, "tests/test_alias_errors.py", ONCE),
        "a row whose answer is never confirmed is sent forever (DELIVERY_UNCONFIRMED never)",
    ),
    Mutant(
        "deliver-clean-ignores-failed-subitems",
        "batch_counters.py",
        "total(record, Tally.DELIVERED, kind, applied=False)",
        "total(record, Tally.DELIVERED, kind or KINDS[0], applied=False)",
        (
            "tests/test_batches.py",
            DELIVER,
            "tests/test_alias_errors.py",
            "tests/test_bad_rows.py",
            SYNC,
        ),
        "a batch whose subitems monday refused reads BATCH_COMPLETED",
    ),
    Mutant(
        "deliver-unknown-alias-not-looked-up",
        "push/deliver.py",
        'elif result.outcome == "unknown":\n                    unknown.append(row)',
        'elif result.outcome == "unknown":\n                    pass',
        (DELIVER, ONCE),
        "an alias the answer does not account for is resent, not adopted (duplicates)",
    ),
    # --- journal / lookup -----------------------------------------------------------------------
    Mutant(
        "journal-entry-written-done",
        "push/journal.py",
        "aliases=json.dumps(entry.aliases),\n            state=JournalState.SENDING,",
        "aliases=json.dumps(entry.aliases),\n            state=JournalState.DONE,",
        (JOURNAL, ONCE),
        "a crash after sending leaves nothing to resolve: the request is made again",
    ),
    Mutant(
        "lookup-adopts-archived-items",
        "monday/reads.py",
        '        elif item.state == "active":\n',
        "        else:\n",
        ("tests/monday/test_reads.py", "tests/test_lookup.py", CHANGES, SYNC),
        "lookups and pulls see archived items as active (lookup filters again: reads test it)",
    ),
    Mutant(
        "lookup-adopts-archived-subitems",
        "push/lookup.py",
        '        if subitem.state != "active":\n            continue\n',
        "",
        ("tests/test_lookup.py", ONCE, SYNC),
        "an archived subitem is adopted: the size stays invisible on the board",
    ),
    # --- board / source -------------------------------------------------------------------------
    Mutant(
        "board-deactivated-label-usable",
        "push/board.py",
        "    if label in column.deactivated_labels:\n        return False\n",
        "",
        ("tests/test_board.py", "tests/test_deactivated_labels.py"),
        "a deactivated label is sent where labels may be created (monday refuses the row)",
    ),
    Mutant(
        "board-subitem-columns-unchecked",
        "push/board.py",
        "            (self.subitems_board, sub.qty_column_id, QUANTITY_COLUMN_TYPE.name),\n",
        "",
        ("tests/test_board.py", "tests/test_check_board.py"),
        "a subitems board without the quantity column is found only when every subitem fails",
    ),
    Mutant(
        "source-scope-one-spelling",
        "push/source.py",
        "customer.in_(config.customer_names(scope.customer))",
        "customer.in_([scope.customer.strip().upper()])",
        ("tests/test_source.py", "tests/test_plan.py"),
        "a customer's lines spelled another way (GREYSON CLOTHIERS) are archived or never sent",
    ),
    Mutant(
        "source-sizes-any-type",
        "push/source.py",
        "sizes = tuple(name for name in names[start:end] if _is_integer(table.c[name].type))",
        "sizes = tuple(name for name in names[start:end])",
        ("tests/test_source.py", "tests/test_lines.py"),
        "a text column between the size markers (INFOR COLOUR CODE) is read as a size",
    ),
    # --- recorder / mirror / missing -----------------------------------------------------------
    Mutant(
        "mirror-item-drift-keeps-hash",
        "mirror.py",
        '"column_values", column_values, subitems=False, row_hash=None)',
        '"column_values", column_values, subitems=False)',
        ("tests/test_mirror.py", PULL),
        "a hand-edited price is never put back",
    ),
    Mutant(
        "recorder-drift-reported-every-pull",
        "pull/recorder.py",
        "        if row.row_hash is None and (subitems or column_id not in pushed):\n"
        "            continue",
        "            if False:\n                continue",
        ("tests/test_recorder.py", PULL),
        "the same hand edit is logged as drift by every pull until the next sync",
    ),
    Mutant(
        "missing-subitem-parent-not-replanned",
        "pull/missing.py",
        "        mirror.forget_hashes(connection, keys)\n",
        "",
        ("tests/test_missing.py", PULL),
        "a subitem archived by hand is not re-created under the recreate policy",
    ),
    # --- PostgreSQL only: unchanged rows found in the database, the mirror refreshed -----------
    Mutant(
        "plan-unchanged-count-not-checked",
        "push/plan.py",
        "if unchanged and unchanged == planner.scope_rows(source):",
        "if unchanged:",
        ("tests/test_raw_digest.py::test_a_scope_found_unchanged_in_the_database_is_not_read",),
        "a scope with one new line among unchanged ones is not read: the new line is never sent",
        postgres=True,
    ),
    Mutant(
        "plan-settings-not-put-back",
        "push/plan.py",
        "    yield\n    _set_local(connection, zip(names, before, strict=True))\n",
        "    yield\n",
        ("tests/test_scan_unchanged.py",),
        "the rest of the plan runs with nested loops off and parallel plans free",
        postgres=True,
    ),
    Mutant(
        "deliver-mirror-never-refreshed",
        "push/deliver.py",
        '    vacuum(db.engine, (db.tables.items, db.tables.subitems), "the batch is complete")',
        "",
        ("tests/test_scan_unchanged.py",),
        "a large delivery leaves the mirror unvacuumed: the next re-plan writes every page",
        postgres=True,
    ),
    Mutant(
        "plan-scan-never-vacuumed",
        "push/plan.py",
        "    if planner.scanned >= SCAN_VACUUM_ROWS:",
        "    if planner.scanned > SCAN_VACUUM_ROWS * 1_000_000:",
        ("tests/test_scan_unchanged.py",),
        "the scan's dead rows pile up with every plan (autovacuum off): re-plans slow down",
        postgres=True,
    ),
)


# ------------------------------------------------------------------------------------ running
@dataclass
class Outcome:
    mutant: Mutant
    verdict: str  # killed, survived, snippet not found, snippet ambiguous, error
    detail: str = ""
    seconds: float = 0.0


def copy_tree(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")
    for name in ("src", "tests"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")


def environment(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(tree / "src"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_imports_copy(tree: Path) -> None:
    """The copy's ``ordersync`` must be the one imported, or every mutant would 'survive'."""
    done = subprocess.run(
        [sys.executable, "-c", "import ordersync; print(ordersync.__file__)"],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    if not done.stdout.strip().startswith(str(tree)):
        raise SystemExit(f"the mutated copy is not what gets imported: {done.stdout.strip()}")


def run_mutant(mutant: Mutant, args: argparse.Namespace) -> Outcome:
    source = ROOT / PACKAGE / mutant.path
    try:
        mutated = mutant.apply(source.read_text("utf-8"))
    except FileNotFoundError:
        return Outcome(mutant, "snippet not found", f"no file {PACKAGE / mutant.path}")
    except SnippetError as error:
        return Outcome(mutant, str(error), f"in {PACKAGE / mutant.path}: update the mutant")
    if args.check:
        return Outcome(mutant, "applies")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ordersync-mutant-") as directory:
        tree = Path(directory)
        copy_tree(tree)
        (tree / PACKAGE / mutant.path).write_text(mutated, "utf-8")
        check_imports_copy(tree)
        selection = ["tests"] if args.full else list(mutant.tests)
        missing = [t for t in selection if not (tree / t.split("::")[0]).exists()]
        selection = [t for t in selection if t not in missing]
        if not selection:
            return Outcome(mutant, "error", f"none of its tests exist: {', '.join(missing)}")
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-rfE"]
        if not args.postgres and not mutant.postgres:
            command += ["-k", "not postgres"]
        if args.full and not args.slow:
            command += ["-m", "not slow"]
        done = subprocess.run(
            [*command, *selection],
            cwd=tree,
            env=environment(tree),
            capture_output=True,
            text=True,
            check=False,
        )
    seconds = time.monotonic() - started
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
    note = f" (missing test files: {', '.join(missing)})" if missing else ""
    if done.returncode == 0:
        return Outcome(mutant, "survived", note.strip(), seconds)
    if done.returncode == 1 and failed:
        return Outcome(mutant, "killed", failed[0] + note, seconds)
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
    return Outcome(mutant, "error", f"pytest exit {done.returncode}: {tail}", seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run this mutant only")
    parser.add_argument("--full", action="store_true", help="whole suite for every mutant")
    parser.add_argument("--slow", action="store_true", help="with --full: slow tests too")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too, not only SQLite")
    parser.add_argument("--check", action="store_true", help="check the snippets, run nothing")
    parser.add_argument("--list", action="store_true", help="list the mutants")
    args = parser.parse_args(argv)
    chosen = list(MUTANTS)
    if args.only:
        unknown = sorted(set(args.only) - {m.name for m in MUTANTS})
        if unknown:
            parser.error(f"unknown mutant(s): {', '.join(unknown)}")
        chosen = [m for m in MUTANTS if m.name in args.only]
    if args.list:
        for mutant in chosen:
            print(f"{mutant.name:42} {mutant.path:12} {mutant.why}")
        return 0
    outcomes = []
    for mutant in chosen:
        outcome = run_mutant(mutant, args)
        outcomes.append(outcome)
        print(
            f"{outcome.verdict:18} {mutant.name:42} {outcome.seconds:6.0f}s  {outcome.detail}",
            flush=True,
        )
    verdicts = [o.verdict for o in outcomes]
    if args.check:
        stale = len(verdicts) - verdicts.count("applies")
        print(f"\n{verdicts.count('applies')} apply, {stale} to update, of {len(verdicts)}")
        return 2 if stale else 0
    survived = [o.mutant.name for o in outcomes if o.verdict == "survived"]
    print(
        f"\n{verdicts.count('killed')} killed, {len(survived)} survived, "
        f"{len(verdicts) - verdicts.count('killed') - len(survived)} other, of {len(verdicts)}"
    )
    for name in survived:
        print(f"  survived: {name}")
    if any(v not in ("killed", "survived", "applies") for v in verdicts):
        return 2
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
