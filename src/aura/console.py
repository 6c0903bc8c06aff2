"""The ``aura`` console script: a click group, one subcommand per task.

Heavy modules are imported inside the commands so that ``aura --help`` stays fast.
Add a subcommand with ``@main.command("name")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from aura.corpus.archive import ExtractReport


class SizeParam(click.ParamType):
    """A byte count such as ``500M``, ``4G``, ``4GiB`` or ``1048576`` (binary units)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from aura.corpus.archive import parse_size

        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


SIZE = SizeParam()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aura", prog_name="aura")
def main() -> None:
    """AURA: real-vs-fake short-form video detection tools."""


@main.command("setup-fvc")
@click.argument(
    "archives",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Corpus root; each archive goes to DEST/videos/<archive stem>/.",
)
@click.option(
    "--max-member-size",
    type=SIZE,
    default="4G",
    show_default=True,
    help="Refuse members larger than this (uncompressed).",
)
@click.option(
    "--max-total-size",
    type=SIZE,
    default="64G",
    show_default=True,
    help="Refuse members once an archive's uncompressed total would exceed this.",
)
@click.option(
    "--max-ratio",
    type=click.FloatRange(min=1),
    metavar="RATIO",
    default=200,
    show_default=True,
    help="Refuse members (above 1 MiB) compressed more than RATIO:1.",
)
@click.option(
    "--max-members",
    type=click.IntRange(min=1),
    metavar="N",
    default=100_000,
    show_default=True,
    help="Refuse archives with more members than this.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: on a terminal, for large archives).",
)
def setup_fvc(
    archives: tuple[Path, ...],
    dest: Path,
    max_member_size: int,
    max_total_size: int,
    max_ratio: float,
    max_members: int,
    progress: bool | None,
) -> None:
    """Safely extract the FVC zip ARCHIVES into DEST/videos/.

    Unsafe members (path traversal, absolute paths, symlinks, devices,
    encrypted, over the size or compression-ratio caps) are refused and
    reported; everything safe is still extracted. Re-running skips members
    already present with the same size and CRC-32.

    Exits 1 if any member was refused or failed, or an archive could not be
    read; 0 otherwise.
    """
    from aura.corpus.archive import ExtractLimits, extract_archive

    limits = ExtractLimits(
        max_member_size=max_member_size,
        max_total_size=max_total_size,
        max_ratio=max_ratio,
        max_members=max_members,
    )
    reports = []
    for archive in archives:
        click.echo(f"{archive.name} -> {dest / 'videos' / archive.stem}")
        report = extract_archive(archive, dest, limits, progress=progress)
        _echo_problems(report)
        reports.append(report)
    _echo_summary(reports)
    if not all(r.ok for r in reports):
        click.echo("Some members were refused or failed; see above.", err=True)
        raise SystemExit(1)


def _echo_problems(report: ExtractReport) -> None:
    for member, reason in report.refused:
        click.echo(f"  refused  {member}: {reason}")
    for member, message in report.errors:
        click.echo(f"  error    {member or report.archive.name}: {message}")


def _echo_summary(reports: list[ExtractReport]) -> None:
    from aura.corpus.archive import format_size

    rows = [
        (
            r.archive.name,
            len(r.extracted),
            len(r.skipped),
            len(r.refused),
            len(r.errors),
            format_size(r.bytes_written),
        )
        for r in reports
    ]
    width = max(len("archive"), *(len(row[0]) for row in rows))
    header = ("archive", "extracted", "skipped", "refused", "errors", "written")
    click.echo("")
    click.echo(f"{header[0]:<{width}}  " + "  ".join(f"{h:>9}" for h in header[1:]))
    for row in rows:
        click.echo(f"{row[0]:<{width}}  " + "  ".join(f"{v:>9}" for v in row[1:]))


@main.command("demo")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/01_raw/demo"),
    show_default=True,
    help="Where to write the FVC-layout demo corpus.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option(
    "--cascades",
    type=click.IntRange(min=2),
    default=16,
    show_default=True,
    help="Cascades (half real, half fake).",
)
@click.option(
    "--reposts",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Reposts per cascade.",
)
@click.option("--force", is_flag=True, help="Regenerate even if the corpus is up to date.")
def demo(dest: Path, seed: int, cascades: int, reposts: int, force: bool) -> None:
    """Generate the deterministic demo corpus (what `kedro run` does for corpus.kind=demo)."""
    from aura.corpus.demo import DemoConfig, generate_demo_corpus

    config = DemoConfig(seed=seed, n_cascades=cascades, reposts_per_cascade=reposts)
    manifest = generate_demo_corpus(dest, config, force=force)
    click.echo(f"{len(manifest['videos'])} files in {dest} (config hash {manifest['config_hash']})")


@main.command("features")
def features_cmd() -> None:
    """List the handcrafted features (stage 2/4 columns) with what each measures."""
    from aura.features import FEATURES, GROUPS
    from aura.features.registry import GROUP_ORDER

    for group in GROUP_ORDER:
        click.echo(f"[{group}]")
        for name in GROUPS[group].features:
            click.echo(f"  {name:<28} {FEATURES[name]}")
