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
    from aura.corpus.records import check_stem

    limits = ExtractLimits(
        max_member_size=max_member_size,
        max_total_size=max_total_size,
        max_ratio=max_ratio,
        max_members=max_members,
    )
    reports = []
    for archive in archives:
        target = "(refused)" if check_stem(archive.stem) else dest / "videos" / archive.stem
        click.echo(f"{archive.name} -> {target}")
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


@main.command("teardown-fvc")
@click.option(
    "--dest",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The corpus root given to setup-fvc.",
)
@click.option("--yes", is_flag=True, help="Really remove; without it nothing is touched.")
def teardown_fvc(dest: Path, yes: bool) -> None:
    """Remove exactly what setup-fvc extracted into DEST/videos/ (a dry run unless --yes).

    Only files setup-fvc wrote, still with the recorded size and CRC-32, are removed, then the
    empty folders it created, then its records. Archives, annotation CSVs, files placed by
    you and files changed since extraction are kept and listed. Exits 1 if a record was
    refused (it points outside DEST/videos) or a removal failed.
    """
    from aura.corpus.archive import format_size
    from aura.corpus.teardown import teardown

    report = teardown(dest, dry_run=not yes)
    if not report.n_records and report.ok:
        click.echo(f"No setup-fvc records in {dest / '.aura-setup'}: nothing to remove.")
        return
    verb = "would remove" if report.dry_run else "removed"
    if report.dry_run:
        click.echo(f"Dry run: nothing is removed. Run again with --yes to remove from {dest}.")
    for key, size in report.removed:
        click.echo(f"  {verb}  {key} ({format_size(size)})")
    for key in report.folders:
        click.echo(f"  {verb}  folder {key}/")
    for key, reason in report.kept:
        click.echo(f"  kept  {key}: {reason}")
    for key, reason in report.refused:
        click.echo(f"  refused  {key}: {reason}")
    for key, message in report.errors:
        click.echo(f"  error  {key}: {message}")
    for key in report.records:
        click.echo(f"  {verb}  record {key}")
    total = format_size(sum(size for _, size in report.removed))
    click.echo(
        f"{verb} {len(report.removed)} files ({total}) and {len(report.folders)} folders; "
        f"kept {len(report.kept)}, refused {len(report.refused)}, errors {len(report.errors)}"
    )
    if not report.ok:
        click.echo("Some records were refused or removals failed; see above.", err=True)
        raise SystemExit(1)


@main.command("demo")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/01_raw/demo"),
    show_default=True,
    help="Where to write the FVC-layout demo corpus.",
)
@click.option("--seed", type=int, default=None, help="Generator seed [default: DemoConfig's].")
@click.option(
    "--cascades",
    type=click.IntRange(min=2),
    default=None,
    help="Cascades, half real, half fake [default: DemoConfig's].",
)
@click.option(
    "--reposts",
    type=click.IntRange(min=0),
    default=None,
    help="Reposts per cascade [default: DemoConfig's].",
)
@click.option("--force", is_flag=True, help="Regenerate even if the corpus is up to date.")
def demo(
    dest: Path, seed: int | None, cascades: int | None, reposts: int | None, force: bool
) -> None:
    """Generate the deterministic demo corpus (what `kedro run` does for corpus.kind=demo).

    Unset options take ``corpus.demo``'s defaults (``aura.corpus.demo.DemoConfig``)."""
    from aura.corpus.demo import DemoConfig, generate_demo_corpus

    given = {"seed": seed, "n_cascades": cascades, "reposts_per_cascade": reposts}
    config = DemoConfig.from_params({k: v for k, v in given.items() if v is not None})
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


@main.command("config")
@click.argument("key", required=False)
@click.option("--env", "-e", default=None, help="Kedro environment (e.g. fvc); default: local.")
@click.option(
    "--params",
    default="",
    help='Runtime parameters as for `kedro run`, e.g. "training.n_folds=3,corpus.kind=fvc".',
)
def config_cmd(key: str | None, env: str | None, params: str) -> None:
    """Print the resolved parameters (conf/base + env + --params, every default filled in) as
    YAML, or the block KEY (e.g. training.trainer). Run it in the project folder."""
    import yaml
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from omegaconf import OmegaConf

    from aura.config import ConfigError
    from aura.parameters import resolve

    bootstrap_project(Path.cwd())
    items = [item.strip() for item in params.split(",") if item.strip()]
    runtime = OmegaConf.to_container(OmegaConf.from_dotlist(items)) if items else None
    try:
        with KedroSession.create(env=env, runtime_params=runtime) as session:
            config = resolve(session.load_context().config_loader["parameters"])
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    values: Any = config.to_params()
    for part in key.split(".") if key else []:
        if not isinstance(values, dict) or part not in values:
            raise click.ClickException(f"{key}: no such parameter")
        values = values[part]
    click.echo(yaml.safe_dump(values, sort_keys=False).rstrip())


@main.command("predict")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--detector",
    "detector_ref",
    default=None,
    metavar="DIR|runs:/…|models:/…",
    help="Detector folder or MLflow model URI [default: the newest released in this project].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the predictions to F.json, F.csv or F.parquet.",
)
@click.option(
    "--explain",
    "explain_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a PNG contact sheet and a JSON of explanations per video into DIR.",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any file could not be scored.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def predict_cmd(
    paths: tuple[str, ...],
    detector_ref: str | None,
    out: Path | None,
    explain_dir: Path | None,
    strict: bool,
    progress: bool,
) -> None:
    """Score videos: files, folders (recursive), a manifest CSV (column `path`), or `-` to read
    paths from stdin. A file that cannot be scored gets a status row (exit 0; --strict: 1)."""
    from aura.inference import cli
    from aura.inference.explain import explainer, write_explanations
    from aura.inference.predict import predict_videos
    from aura.release import load_detector

    try:
        if out is not None and out.suffix.lower() not in cli.OUT_SUFFIXES:
            raise cli.PredictError(f"--out {out}: use a .json, .csv or .parquet file")
        files = cli.collect_paths(paths)
        folder = cli.resolve_detector(detector_ref)
        detector = load_detector(folder)
    except (cli.PredictError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if not files:
        raise click.ClickException(f"no files found in {', '.join(paths)}")
    config = detector.inference_config()
    explain = explainer(detector, config) if explain_dir is not None else None
    table = predict_videos(
        cli.requests_for(files), detector, config, progress=progress, after=explain
    )
    if explain is not None and explain_dir is not None:
        written = write_explanations(explain.results, explain_dir)
        click.echo(f"explanations: {len(written)} videos in {explain_dir}", err=True)
    click.echo(cli.render_table(table))
    click.echo(
        f"detector {detector.manifest.version} ({folder}); "
        + ", ".join(f"{k}: {v}" for k, v in cli.summary(table).items()),
        err=True,
    )
    if out is not None:
        try:
            cli.write_output(table, out)
        except cli.PredictError as exc:
            raise click.ClickException(str(exc)) from None
    if strict and cli.failed(table):
        raise SystemExit(1)


@main.command("dashboard")
@click.option(
    "--project",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The Kedro project whose runs, videos and detector to show.",
)
@click.option("--env", "-e", default=None, help="Kedro environment (e.g. fvc); default: local.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Largest video a user may upload [default: inference.max_upload_mb].",
)
def dashboard_cmd(project: Path, env: str | None, port: int, max_upload_mb: float | None) -> None:
    """Serve the results dashboard (Streamlit, headless) on http://127.0.0.1:PORT: runs,
    threshold explorer, video drill-down and scoring of new videos. Ctrl-C stops it."""
    from aura.dashboard.launch import HOST, is_kedro_project, serve
    from aura.dashboard.settings import Settings

    project = project.resolve()
    if not is_kedro_project(project):
        raise click.ClickException(f"{project}: not a Kedro project (no [tool.kedro] table)")
    click.echo(f"AURA dashboard on http://{HOST}:{port} (project {project})", err=True)
    serve(Settings(project, env, max_upload_mb), port)
