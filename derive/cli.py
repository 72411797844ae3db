"""The ``derive`` command line (the contract is in DESIGN.md: keep names, flags and exit codes).

Exit codes: 0 success, 1 ``check`` found an incorrect claim, 2 bad usage or input (one line on
stderr, no traceback, no partial output file).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from derive import source
from derive.deriver import derive
from derive.model import Model
from derive.network import DeclarationError
from derive.output import OutputError, write_atomic
from derive.printing.unicode import UnicodePrinter
from derive.terminal import safe


class UsageProblem(click.ClickException):
    exit_code = 2


def _settings(pairs: tuple[str, ...], steps: int | None) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageProblem(f"--set takes option=value, not {pair!r}")
        settings[key.strip()] = value.strip()
    if steps is not None:
        settings["T"] = str(steps)
    return settings


def _model(text: str) -> Model:
    try:
        return source.resolve(text)
    except DeclarationError as err:
        raise UsageProblem(str(err)) from None


def _network(model: Model, settings: dict[str, str]):
    try:
        return model.build(model.without_time(settings))
    except DeclarationError as err:
        raise UsageProblem(str(err)) from None


def _default_output(model: Model, suffix: str) -> Path:
    return Path("outputs") / model.stem / f"{model.stem}{suffix}"


def _output_path(output: str | None, model: Model, suffix: str) -> Path:
    """-o as given (a file, never "" or a folder: dir/), or the default outputs/STEM/STEM<suffix>."""
    if output is None:
        return _default_output(model, suffix)
    if not output or output.endswith(("/", "\\")):
        raise UsageProblem(f"-o takes a file name, not {output!r}")
    return Path(output)


def _steps(net, settings) -> int:
    return int(settings.get("T", net.sizes_default.get("T", 3)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="derive", prog_name="derive", message="%(prog)s %(version)s")
def cli():
    """Symbolic gradients for neural networks: derived step by step, typeset, turned into
    NumPy, and able to check a student's answer."""


@cli.command("list")
def list_presets():
    """The built-in models, one per line: name, seed, forward pass."""
    for model in source.builtin_models():
        net = model.build()
        printer = UnicodePrinter(net.notation, objective=net.objective.name)
        forward = "; ".join(f"{printer.doprint(a.target)} = {printer.doprint(a.expr)}" for a in net.assignments)
        origin = f"seed {model.seed}" if model.seed else "no seed"
        click.echo(f"{model.ref:<12} {origin:<14} {forward}")


LAYOUT = click.option("--layout", type=click.Choice(["denominator", "numerator"]), default="denominator",
                      show_default=True, help="Gradients shaped like their variable, or rows and Jacobians.")
SET = click.option("--set", "pairs", multiple=True, metavar="OPTION=VALUE",
                   help="A model option or size, e.g. --set activation=tanh --set n=4.")
STEPS = click.option("--T", "steps", type=click.IntRange(1, 100_000), default=None,
                     help="Sequence length for the unrolled sums (default: the model's).")
MODEL_HELP = "MODEL is a preset name (derive list) or the path of a Python model file (cell.py)."


@cli.command(epilog=MODEL_HELP)
@click.argument("model")
@STEPS
@LAYOUT
@SET
def show(model, steps, layout, pairs):
    """Every gradient, recurrence and Jacobian product of MODEL, in the terminal."""
    from derive.report import TerminalReport

    settings = _settings(pairs, steps)
    net = _network(_model(model), settings)
    click.echo(TerminalReport(derive(net, layout), _steps(net, settings)).render(), nl=False)


@cli.command(epilog=MODEL_HELP)
@click.argument("model")
@click.option("-o", "--output", default=None, help="Where to write the document (default outputs/STEM/STEM.tex, "
              "STEM the preset's name or the model file's stem).")
@STEPS
@LAYOUT
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="The language of the sentences (zh compiles with xelatex).")
@SET
@click.option("--analysis", is_flag=True, help="Add a section on vanishing and exploding gradients (derive analyze, "
              "over 100 steps), its plot written beside the document.")
@click.option("--weights", default=None, metavar="FILE.npz", help="With --analysis: the weights it analyses "
              "(default: random, seed 0).")
def latex(model, output, steps, layout, lang, pairs, analysis, weights):
    """A LaTeX document deriving every gradient of MODEL step by step."""
    from derive.latexdoc import latex_document

    settings = _settings(pairs, steps)
    resolved = _model(model)
    net = _network(resolved, settings)
    path = _output_path(output, resolved, ".tex")
    extra, plot = [], None
    if weights and not analysis:
        raise UsageProblem("--weights goes with --analysis")
    if analysis:
        from derive.analysis.plot import png
        from derive.analysis.section import analysis_section

        result = _analysis(resolved, settings, None, weights, 0, 1.0)
        plot = path.with_name(f"{path.stem}-analysis.png")
        extra = [analysis_section(result, lang, plot.name)]
    document = latex_document(derive(net, layout), _steps(net, settings), lang, extra)
    files = {path: document} if plot is None else {plot: png(result.numbers, _plot_title(resolved, settings, result)),
                                                   path: document}
    for written in _write_all(files):  # the plot and its document, or neither
        click.echo(f"wrote {written}")


def _plot_title(model, settings, result) -> str:
    chosen = ", ".join(f"{k}={v}" for k, v in settings.items() if k != "T")
    return f"{model.ref}{f' ({chosen})' if chosen else ''}: T = {result.numbers.steps}, weights {result.source}"


def _whole(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageProblem(f"{name} must be a whole number, not {text!r}") from None


def _analysis(model, settings, steps, weights, seed, scale):
    from derive.analysis import DEFAULT_STEPS, AnalysisError
    from derive.analysis import analyze as run_analysis

    horizon = DEFAULT_STEPS if steps is None else steps
    try:
        return run_analysis(model, {k: v for k, v in settings.items() if k != "T"}, horizon, weights, seed, scale)
    except AnalysisError as err:
        raise UsageProblem(str(err)) from None


@cli.command()
@click.option("--out", "folder", default="outputs", show_default=True,
              help="The folder that gets one subfolder per built-in model.")
@click.option("--pdf/--no-pdf", default=True, show_default=True,
              help="Compile each document to PDF and a PNG of its first page when a LaTeX engine is present.")
def build(folder, pdf):
    """Every built-in model into OUT/<name>/: derivations (.txt, .tex), the NumPy module, PDFs."""
    from derive.gallery import build_gallery

    try:
        for line in build_gallery(Path(folder), pdf):
            click.echo(line)
    except OutputError as err:
        raise UsageProblem(str(err)) from None


@cli.command(epilog=MODEL_HELP)
@click.argument("files", nargs=-1)
@click.option("--model", "model", default=None, help="The MODEL the answers are about (or model: in the file).")
@SET
@click.option("--layout", type=click.Choice(["auto", "denominator", "numerator"]), default=None,
              help="How the answers write derivatives (default: the file's, else auto).")
@click.option("--claim", "claims", multiple=True, metavar="LATEX", help="A claim to check instead of a file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the format DESIGN.md gives).")
def check(files, model, pairs, layout, claims, as_json):
    """Read students' LaTeX answers (FILE... or --claim) and say which are right, and what is
    wrong with the others. Exit 1 when a claim is incorrect."""
    from derive.check import report
    from derive.check.run import CheckError, check_answers

    if len(files) > 1 and claims:
        raise UsageProblem("--claim goes with one answer FILE at most")
    from derive.check.many import check_files

    settings = _settings(pairs, None)
    # every file is checked before anything is printed: a bad one stops the run
    try:
        if len(files) > 1:
            with _progress(len(files)) as advance:
                results = check_files(list(files), model, layout, settings, advance)
        else:
            file = files[0] if files else None
            results = [(file, *check_answers(file, model, layout, claims, settings))]
    except CheckError as err:
        raise UsageProblem(str(err)) from None
    for file, name, verdicts in results:
        if as_json:
            click.echo(report.as_json(name, verdicts, file if len(results) > 1 else None))
        else:
            heading = f"{safe(file)}\n" if len(results) > 1 else ""
            click.echo(heading + report.as_text(name, verdicts, colour=sys.stdout.isatty()), nl=False)
    if len(results) > 1 and not as_json:
        click.echo(report.total([verdicts for *_, verdicts in results]))
    return 1 if any(v.verdict == "incorrect" for *_, verdicts in results for v in verdicts) else 0


@contextlib.contextmanager
def _progress(count: int):
    """A progress bar on stderr when it is a terminal (a class of answer files); nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=count, label="checking", file=sys.stderr) as bar:
        yield bar.update


@cli.command("numpy", epilog=MODEL_HELP)
@click.argument("model")
@click.option("-o", "--output", default=None, help="Where to write the module (default outputs/STEM/STEM_grad.py, "
              "STEM the preset's name or the model file's stem).")
@SET
def numpy_command(model, output, pairs):
    """A standalone NumPy module for MODEL: init_params, forward, gradients."""
    from derive.codegen.numpy_module import numpy_module
    from derive.codegen.plan import NotGeneratable

    settings = _settings(pairs, None)
    resolved = _model(model)
    try:
        module = numpy_module(resolved, settings)
    except (DeclarationError, NotGeneratable) as err:
        raise UsageProblem(str(err)) from None
    path = _output_path(output, resolved, "_grad.py")
    _write(path, module)
    click.echo(f"wrote {path}")


@cli.command(epilog=MODEL_HELP)
@click.argument("model")
@click.option("--weights", "weights", default=None, metavar="FILE.npz",
              help="The parameters to analyse, by the model's names (W, U, ...); the sizes follow their shapes. "
                   "Parameters it lacks are drawn at random.")
@click.option("--random", "seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="The seed of the random weights and of the sampled inputs.")
@click.option("--scale", type=click.FloatRange(0, 1e3, min_open=True), default=1.0, show_default=True,
              help="Random matrices have entries N(0, scale²/columns): a square one's spectral radius is about scale.")
@click.option("--T", "steps", type=click.IntRange(1, None), default=None,
              help="The horizon: dh_T/dh_k for k = T-1, ..., 0 (default 100).")
@SET
@click.option("-o", "--output", "folder", default=None, metavar="DIR",
              help="Also write DIR/STEM-analysis.png (the plot) and DIR/STEM-analysis.json.")
@click.option("--json", "as_json", is_flag=True, help="Print every number as one JSON object instead of the text.")
def analyze(model, weights, seed, scale, steps, pairs, folder, as_json):
    """Vanishing and exploding gradients in MODEL: the product dh_t/dh_k = Π J_i, the bound
    (γ‖W‖)^(t−k), the recurrent matrix's eigendecomposition and powers, and the measured norms
    along a sampled trajectory, with a verdict for each."""
    from derive.analysis import report
    from derive.analysis.plot import png

    settings = _settings(pairs, None)
    resolved = _model(model)
    if steps is None and "T" in settings:
        steps = _whole(settings["T"], "T")
    result = _analysis(resolved, settings, steps, weights, seed, scale)
    document = report.as_json(result)
    written = []
    if folder is not None:
        if not folder:
            raise UsageProblem("-o takes a folder name, not ''")
        stem = Path(folder) / f"{resolved.stem}-analysis"
        title = _plot_title(resolved, settings, result)
        files = {stem.with_suffix(".png"): png(result.numbers, title), stem.with_suffix(".json"): document + "\n"}
        written = _write_all(files)
    click.echo(document if as_json else report.text(result), nl=as_json)
    for path in written:
        click.echo(f"wrote {path}", err=as_json)


def _write_all(files: dict) -> list[Path]:
    """Write every file or none: one that fails removes those written before it."""
    for path in files:
        try:
            if Path(path).is_dir():
                raise UsageProblem(f"cannot write {path}: it is a directory")
        except OSError as err:  # a name too long
            raise UsageProblem(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    written = []
    try:
        for path, content in files.items():
            written.append(_write(path, content))
    except UsageProblem:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _write(path: Path, text: str | bytes) -> Path:
    try:
        return write_atomic(path, text)
    except OutputError as err:
        raise UsageProblem(str(err)) from None


def main(argv=None) -> int:
    """Run the command line; every failure is one line on stderr and an exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # the usage, as --help prints it
        argv = ["--help"]
    try:
        result = cli.main(args=argv, prog_name="derive", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("derive: aborted", err=True)
        return 2
    except click.ClickException as err:
        click.echo(f"derive: {safe(err.format_message())}", err=True)
        return err.exit_code if isinstance(err, UsageProblem) else 2
    except BrokenPipeError:
        return 0
    except Exception as err:  # noqa: BLE001 - one line, never a traceback, even for a bug
        click.echo(f"derive: internal error ({type(err).__name__}: {safe(str(err))}); please report it", err=True)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
