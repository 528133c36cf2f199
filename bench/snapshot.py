"""What the pipeline leaves behind, as one comparable text: for "behaviour unchanged".

Runs ``slack-events run`` the way a user does, on two inputs, each into a fresh SQLite
file: the bundled sample (what ``slack-events demo`` runs) and a generated workspace of
``--channels`` x ``--days`` (an export ZIP, rule extractor). Then writes every row of
every table, sorted, with the columns that only say *when* the run happened left out
(``ingested_at``, ``updated_at``, ``first_seen_at``, ``last_run_at``, ``created_at``,
``latency_ms`` and the ``at`` of history entries), plus the digest files and the
calendar without its ``DTSTAMP`` lines. Two snapshots of the same code are identical;
a refactoring that changes behaviour shows as a diff::

    python -m bench.snapshot --out before.txt      # on the old commit
    python -m bench.snapshot --out after.txt       # on the new one
    diff before.txt after.txt
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slack_events_dagster import pipeline
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.storage.schema import metadata
from slack_events_dagster.testing.workspace_gen import DEFAULT_END, generate_workspace, write_export

# When the run happened, not what it found.
VOLATILE = frozenset(
    {"ingested_at", "updated_at", "first_seen_at", "last_run_at", "created_at", "latency_ms"}
)


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if not str(k).endswith("_at")}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def dump_database(path: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{path}")
    lines: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE]
            rows = connection.execute(sa.select(*columns)).all()
            text = sorted(
                json.dumps(
                    {c.name: _stable(value) for c, value in zip(columns, row, strict=True)},
                    default=str,
                    sort_keys=True,
                    ensure_ascii=False,
                )
                for row in rows
            )
            lines.append(f"## {table.name} ({len(text)} rows)")
            lines.extend(text)
    engine.dispose()
    return lines


def dump_outputs(folder: Path) -> list[str]:
    lines: list[str] = []
    for file in sorted(folder.glob("digest-*.md")) + sorted(folder.glob("*.ics")):
        lines.append(f"## file {file.name}")
        lines.extend(
            line for line in file.read_text().splitlines() if not line.startswith("DTSTAMP")
        )
    return lines


def run_sample(workdir: Path) -> list[str]:
    out = workdir / "demo"
    pipeline.run(pipeline.demo_settings(load_settings(), output_dir=out), quiet=True)
    return dump_database(out / "slack_events.db") + dump_outputs(out)


def run_generated(workdir: Path, channels: int, days: int, per_day: int) -> list[str]:
    out = workdir / "generated"
    workspace = generate_workspace(channels=channels, days=days, per_day=per_day, seed=7)
    archive = write_export(workspace, out / "export.zip", as_zip=True)
    first = DEFAULT_END - timedelta(days=days - 1)
    settings = _generated_settings(load_settings(), archive, out, first)
    pipeline.run(settings, start=first, end=DEFAULT_END, quiet=True)
    return dump_database(out / "slack_events.db") + dump_outputs(out)


def _generated_settings(base: Settings, archive: Path, out: Path, first: date) -> Settings:
    demo = pipeline.demo_settings(base, output_dir=out)
    return demo.model_copy(
        update={
            "slack": demo.slack.model_copy(
                update={"export_path": archive, "workspace_url": "https://synthetic.slack.com/"}
            ),
            "pipeline": demo.pipeline.model_copy(update={"start_date": first, "timezone": "UTC"}),
            "digest": demo.digest.model_copy(update={"timezone": "UTC"}),
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the snapshot file to write")
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=40)
    parser.add_argument("--part", choices=["sample", "generated"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part is not None:
        # One run per process: a code location is loaded once per process.
        with tempfile.TemporaryDirectory() as tmp:
            if args.part == "sample":
                lines = ["# sample (slack-events demo)", *run_sample(Path(tmp))]
            else:
                lines = [f"# generated {args.channels} x {args.days}"]
                lines += run_generated(Path(tmp), args.channels, args.days, args.per_day)
        args.out.write_text("\n".join(lines) + "\n")
        return 0
    parts = []
    for part in ("sample", "generated"):
        target = args.out.with_name(f"{args.out.name}.{part}")
        command = [sys.executable, "-m", "bench.snapshot", "--part", part, "--out", str(target)]
        command += ["--channels", str(args.channels), "--days", str(args.days)]
        subprocess.run([*command, "--per-day", str(args.per_day)], check=True)
        parts.append(target.read_text())
        target.unlink()
    args.out.write_text("".join(parts))
    print(f"{args.out}: {sum(p.count(chr(10)) for p in parts)} lines", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
