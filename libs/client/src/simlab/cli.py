"""`simlab`: run your code, submit, watch and fetch simulations from a terminal.

`simlab run FILE -p NAME=VALUE ... [-- ARGS]` pushes FILE (with the modules beside it that it
imports) as a new version of a model and runs it; `simlab models push FILE` only pushes it.
`simlab submit MODEL --rel-tol 1e-3` stops the run once its answer is that precise (the sample
parameter, or --max-samples, is the budget); `simlab extend ID --samples 4e7` tops a finished run
up, computing only the new blocks. `simlab study submit MODEL -p strike=90,100,110 -p
volatility=0.1:0.5:9 [--crn]` sweeps parameters as one study (`simlab study --help`).
Every command takes --server (default $SIMLAB_SERVER, then http://127.0.0.1:8080), --token
(default $SIMLAB_TOKEN, then the file $SIMLAB_TOKEN_FILE, then for a server on this machine
.simlab/token in this directory or a parent: `make run`'s) and --json (machine-readable
output with stable field names). `simlab login --web` prints a link that signs a browser in. Exit
code 0 on success; 2 for bad usage; 1 with a one-line error otherwise (a failed or cancelled
job, or a study with a failed point or cancelled, under --wait or watch counts as a failure)."""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simlab.bundle import Bundle, BundleError
from simlab.client import (
    SHARE_NEVER_EXPIRES,
    Client,
    Pushed,
    bundle_of,
    job_to_dict,
    make_precision,
    precision_to_dict,
    sample_count,
    study_to_dict,
)
from simlab.common.errors import Code, SimlabError
from simlab.progress import describe, duration, follow, follow_study, study_line, to_target
from simlab.states import job_state, points_ended, state_name, stop_reason, study_state_name
from simlab.studyspec import StudySpecError, build_spec, parse_sample, parse_sweep, parse_value
from simlab.tables import FORMATS, study_columns, study_rows, write_rows
from simlab.v1 import simulation_pb2 as pb

# No emoji codes: ":x:" in "-p volatility=0.1:x:9" is text.
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
STATES = [name.removeprefix("JOB_STATE_") for name in pb.JobState.keys()[1:]]
# Jobs per page of `simlab list`.
LIST_LIMIT = 20
# The precision flags and the keyword arguments of Client.submit / Client.extend they set.
PRECISION_FLAGS = {
    "--rel-tol": "rel_tol",
    "--abs-tol": "abs_tol",
    "--confidence": "confidence",
    "--min-blocks": "min_blocks",
    "--two-stage": "two_stage",
}
STATE_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
    "CANCELLING": "yellow",
    "RUNNING": "cyan",
}


class CliError(Exception):
    pass


def parse_params(pairs: Sequence[str], model: pb.Model | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    schema = {p.name: p for p in model.parameters} if model else {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise CliError(f"-p expects NAME=VALUE, got {pair!r}")
        params[name] = parse_value(raw, schema.get(name))
    return params


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def print_job(job: pb.Job) -> None:
    data = job_to_dict(job)
    status = data["status"]
    table = Table(show_header=False, box=None)
    table.add_row("job", data["job_id"])
    table.add_row("status", f"[{STATE_STYLE.get(status, 'white')}]{status}[/]")
    table.add_row("model", data["model"])
    table.add_row("parameters", ", ".join(f"{k}={v}" for k, v in data["parameters"].items()))
    table.add_row("seed / shards", f"{data['seed']} / {data['shards']}")
    p = data["progress"]
    table.add_row("progress", f"{p['samples_done']:,} / {p['samples_total']:,} samples")
    if p["estimate"] is not None:
        table.add_row("estimate", describe(job).split(" ", 1)[1].strip())
    if job.HasField("precision"):
        table.add_row("precision", precision_text(job.precision))
    if target := to_target(job):
        table.add_row("to target", target)
    for key, value in (data["summary"] or {}).items():
        table.add_row(f"  {key}", _fmt(value))
    if data["error"]:
        table.add_row("error", f"[red]{data['error']['message']}[/]")
    out.print(table)
    for line in notes(job):
        out.print(line, highlight=False, soft_wrap=True)


def percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def precision_text(precision: pb.Precision) -> str:
    """e.g. "±0.1 % (or ±0.01) at 95 %, pilot 10 blocks, two-stage"."""
    settings = precision_to_dict(precision)
    tolerances = []
    if precision.rel_tol:
        tolerances.append(f"±{percent(precision.rel_tol)}")
    if precision.abs_tol:
        tolerances.append(f"±{_fmt(precision.abs_tol)}")
    text = " (or ".join(tolerances) + (")" if len(tolerances) > 1 else "")
    text += f" at {percent(settings['confidence'])}, pilot {settings['min_blocks']} blocks"
    return text + (", two-stage" if precision.two_stage else "")


def notes(job: pb.Job) -> list[str]:
    """Where a run stopped, and whose result or blocks it reused."""
    lines = []
    if job.HasField("stop"):
        stop = job.stop
        verb = "stopped" if job.state == pb.JOB_STATE_SUCCEEDED else "stops"
        line = (
            f"{verb}: {stop_reason(stop).replace('_', ' ')} at {stop.samples_used:,} samples "
            f"(blocks {stop.first_block}-{stop.end_block - 1})"
        )
        if stop.HasField("half_width"):
            line += f", ±{stop.half_width:.3g} at {percent(stop.confidence)}"
        if stop.blocks_discarded:
            line += f"; {stop.blocks_discarded} blocks computed past it, discarded"
        lines.append(line)
    if job.cached_from:
        lines.append(f"reused the result of {job.cached_from} (no worker ran)")
    if job.extends:
        lines.append(f"extends {job.extends}")
    return lines


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def ended_badly(job: pb.Job) -> str | None:
    if job.state == pb.JOB_STATE_FAILED:
        return f"job {job.job_id} failed: {job.error.message}"
    if job.state == pb.JOB_STATE_CANCELLED:
        return f"job {job.job_id} was cancelled"
    return None


def model_to_dict(model: pb.Model) -> dict[str, Any]:
    from google.protobuf import json_format  # only --json needs it

    return dict(json_format.MessageToDict(model, preserving_proto_field_name=True))


def model_kind(model: pb.Model) -> str:
    return pb.ModelKind.Name(model.kind).removeprefix("MODEL_KIND_").lower() if model.kind else ""


def visibility(model: pb.Model) -> str:
    return "public" if model.public or model.builtin else "private"


def _when(item: pb.Model | pb.Job | pb.Study) -> str:
    if not item.HasField("created_at"):
        return ""
    return item.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")


def cmd_models(client: Client, args: argparse.Namespace) -> int:
    models = client.list_models()
    if args.json:
        emit_json([model_to_dict(m) for m in models])
        return 0
    table = Table("model", "version", "kind", "owner", "visibility", "created", "title")
    for m in models:
        owner = "built-in" if m.builtin else m.owner
        version = f"v{m.version}" if m.version else ""
        table.add_row(m.name, version, model_kind(m), owner, visibility(m), _when(m), m.title)
    out.print(table)
    out.print("parameters and code of one: simlab models show NAME", style="dim")
    return 0


def cmd_models_show(client: Client, args: argparse.Namespace) -> int:
    if args.versions:
        versions = client.list_model_versions(args.model.partition("@")[0])
        if args.json:
            emit_json({"versions": [model_to_dict(m) for m in versions]})
            return 0
        table = Table("version", "sha256", "kind", "reproducible", "warnings", "created")
        for m in versions:
            table.add_row(
                f"{m.name}@v{m.version}", m.code_sha256[:12], model_kind(m),
                "yes" if m.reproducible else "no", str(len(m.warnings)), _when(m),
            )  # fmt: skip
        out.print(table)
        return 0
    model = client.get_model(args.model)
    if args.json:
        emit_json(model_to_dict(model))
    else:
        print_model(model)
    return 0


def print_model(model: pb.Model) -> None:
    out.print(f"[bold]{model.name}@v{model.version}[/] — {model.title}", highlight=False)
    if model.description:
        out.print(f"  {model.description}", style="dim", highlight=False)
    table = Table(show_header=False, box=None)
    table.add_row("kind", model_kind(model))
    table.add_row("owner", "built-in" if model.builtin else model.owner)
    table.add_row("visibility", visibility(model))
    table.add_row("created", _when(model))
    table.add_row("sha256", model.code_sha256)
    table.add_row("size", f"{model.code_size:,} bytes")
    table.add_row("entry", model.entry)
    table.add_row("files", "\n".join(model.files))
    table.add_row("imports", ", ".join(model.imports))
    table.add_row("reproducible", "yes" if model.reproducible else "no")
    for warning in model.warnings:
        table.add_row("warning", f"[yellow]{warning}[/]")
    table.add_row("runtime", model.runtime)
    out.print(table)
    if model.parameters:
        out.print()
        print_parameters(model)
    if model.outputs:
        out.print()
        outputs = Table("output", "label", "unit", "help", box=None)
        for o in model.outputs:
            primary = " (primary)" if o.name == model.primary_output else ""
            outputs.add_row(o.name + primary, o.label, o.unit, o.help)
        out.print(outputs)


def print_parameters(model: pb.Model) -> None:
    table = Table("parameter", "type", "default", "bounds", "unit", "help", box=None)
    for p in model.parameters:
        kind = pb.ParameterType.Name(p.type).removeprefix("PARAMETER_TYPE_").lower()
        if p.choices:
            kind += f" ({'|'.join(p.choices)})"
        default = "[red]required[/]" if not p.HasField("default") else _value(p.default)
        table.add_row(p.name, kind, default, _bounds(p), p.unit, p.help)
    out.print(table)


def push(client: Client, args: argparse.Namespace) -> tuple[Bundle, Pushed]:
    """Bundles FILE, says what goes, pushes it and says which version it is."""
    bundle, default_name = bundle_of(args.file, args.include)
    if not args.json:
        # Paths are copied from here: never wrapped, whatever the terminal's width.
        out.print(
            f"{args.file}: {len(bundle.files)} files, {bundle.size:,} bytes",
            highlight=False,
            soft_wrap=True,
        )
        for path in sorted(bundle.files):
            out.print(f"  {path}", style="dim", highlight=False, soft_wrap=True)
    pushed = client.push_bundle(bundle, args.name or default_name, public=args.public)
    if not args.json:
        model = pushed.model
        out.print(
            f"[bold]{model.name}@v{model.version}[/]  {model.code_sha256[:12]}  "
            f"({'new version' if pushed.created else 'unchanged'}, "
            f"{pushed.uploaded_bytes:,} bytes sent)",
            highlight=False,
            soft_wrap=True,
        )
        for warning in model.warnings:
            out.print(f"  warning: {warning}", style="yellow", highlight=False)
    return bundle, pushed


def cmd_models_push(client: Client, args: argparse.Namespace) -> int:
    bundle, pushed = push(client, args)
    if args.json:
        model = pushed.model
        emit_json(
            {"name": model.name, "version": model.version, "sha256": model.code_sha256,
             "created": pushed.created, "uploaded_bytes": pushed.uploaded_bytes,
             "files": sorted(bundle.files), "model": model_to_dict(model)}
        )  # fmt: skip
    return 0


def cmd_run(client: Client, args: argparse.Namespace) -> int:
    _, pushed = push(client, args)
    model = pushed.model
    return submitted(client, args, f"{model.name}@v{model.version}", model)


def _value(v: Any) -> str:
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return _fmt(int(v.number_value) if v.number_value.is_integer() else v.number_value)
    return str(getattr(v, kind)).lower() if kind == "bool_value" else str(getattr(v, kind))


def _bounds(p: pb.Parameter) -> str:
    lo = (
        f"{'(' if p.exclusive_minimum else '['}{_fmt(p.minimum)}"
        if p.HasField("minimum")
        else "(-∞"
    )
    hi = (
        f"{_fmt(p.maximum)}{')' if p.exclusive_maximum else ']'}" if p.HasField("maximum") else "∞)"
    )
    return "" if p.type in (pb.PARAMETER_TYPE_CHOICE, pb.PARAMETER_TYPE_BOOL) else f"{lo}, {hi}"


def cmd_submit(client: Client, args: argparse.Namespace) -> int:
    return submitted(client, args, args.model, find_model(client, args.model))


def find_model(client: Client, name: str) -> pb.Model | None:
    """The model's schema, or None when there is no such model: the submit then says what is
    wrong with the name."""
    try:
        return client.get_model(name)
    except SimlabError as error:
        if error.code is not Code.NOT_FOUND:
            raise
        return None


def submitted(client: Client, args: argparse.Namespace, name: str, model: pb.Model | None) -> int:
    """Submits a run of `name` ("name" or "name@vN"), then says where to see it or (--wait)
    follows it to its end."""
    parameters = parse_params(args.param, model)
    parameters.update(max_samples(args, name, model, given=parameters))
    precision = new_precision_options(args, name, model)
    job = client.submit(
        name,
        parameters,
        seed=args.seed,
        shards=args.shards,
        request_id=getattr(args, "request_id", None),
        args=args.args,
        no_cache=args.no_cache,
        **precision,
    )
    return announce(client, args, job)


def max_samples(
    args: argparse.Namespace, name: str, model: pb.Model | None, given: Collection[str]
) -> dict[str, int]:
    """What --max-samples sets: {the model's sample parameter: N}, or nothing without it; the
    parameter may not be `given` by -p as well."""
    if args.max_samples is None:
        return {}
    parameter = sample_parameter(model, name)
    if parameter in given:
        raise CliError(
            f"--max-samples sets {parameter}: give either --max-samples or -p {parameter}=…"
        )
    return {parameter: args.max_samples}


def sample_parameter(model: pb.Model | None, name: str) -> str:
    """The name of the model's sample-count parameter, which --max-samples sets."""
    if model is None:
        raise CliError(f"--max-samples: model {name} not found")
    if model.kind == pb.MODEL_KIND_SCRIPT:
        raise CliError(f"--max-samples: {name} is a script; it has no sample parameter")
    for parameter in model.parameters:
        if parameter.is_sample_count:
            return parameter.name
    raise CliError(f"--max-samples: {name} has no sample-count parameter")


def new_precision_options(
    args: argparse.Namespace, name: str, model: pb.Model | None
) -> dict[str, Any]:
    """The precision flags of a new run (or study), checked: a target needs a tolerance, and
    script models have none."""
    # --no-two-stage is a new run's default: it asks for no target.
    precision = {k: v for k, v in precision_options(args).items() if v is not False}
    if precision:
        flag = next(f for f, key in PRECISION_FLAGS.items() if key in precision)
        if "rel_tol" not in precision and "abs_tol" not in precision:
            raise CliError(f"{flag} needs a target: --rel-tol or --abs-tol")
        if model is not None and model.kind == pb.MODEL_KIND_SCRIPT:
            raise CliError(f"{flag}: {name} is a script; precision targets are for blocks models")
    return precision


def precision_options(args: argparse.Namespace) -> dict[str, Any]:
    """The precision flags given, as Client.submit / Client.extend keyword arguments."""
    given = {key: getattr(args, key) for key in PRECISION_FLAGS.values()}
    return {key: value for key, value in given.items() if value is not None}


def announce(client: Client, args: argparse.Namespace, job: pb.Job) -> int:
    """Says where to see a job just submitted (and what it reused), or (--wait) follows it to
    its end."""
    if not args.wait:
        if args.json:
            emit_json(job_to_dict(job))
        else:
            out.print(
                f"submitted [bold]{job.job_id}[/]  {client.run_url(job.job_id)}  "
                f"(simlab watch {job.job_id})",
                soft_wrap=True,
            )
            for line in notes(job):
                out.print(line, highlight=False, soft_wrap=True)
        return 0
    err.print(f"submitted {job.job_id}  {client.run_url(job.job_id)}", soft_wrap=True)
    return _finish(client, job.job_id, args)


def cmd_extend(client: Client, args: argparse.Namespace) -> int:
    job = client.extend(
        args.job_id,
        samples=args.samples or 0,
        shards=args.shards,
        no_cache=args.no_cache,
        request_id=args.request_id,
        **precision_options(args),
    )
    return announce(client, args, job)


def _finish(client: Client, job_id: str, args: argparse.Namespace) -> int:
    job = client.wait(job_id, progress=False) if args.json else follow(client, job_id, err)
    if args.json:
        emit_json(job_to_dict(job))
    else:
        print_job(job)
    problem = ended_badly(job)
    if problem:
        raise CliError(problem)
    return 0


def cmd_status(client: Client, args: argparse.Namespace) -> int:
    job = client.get(args.job_id)
    if args.json:
        emit_json(job_to_dict(job))
    else:
        print_job(job)
    return 0


def cmd_watch(client: Client, args: argparse.Namespace) -> int:
    return _finish(client, args.job_id, args)


def cmd_list(client: Client, args: argparse.Namespace) -> int:
    states = [job_state(state) for state in args.state]
    jobs, next_token = client.list_jobs(
        args.model or "", states, args.limit, args.page_token or "", args.id or ""
    )
    if args.json:
        emit_json({"jobs": [job_to_dict(j) for j in jobs], "next_page_token": next_token})
        return 0
    table = Table("job", "model", "status", "progress", "estimate", "created")
    for job in jobs:
        status = state_name(job.state)
        p = job.progress
        done = f"{p.samples_done / p.samples_total:.0%}" if p.samples_total else ""
        estimate = f"{p.estimate:.6g}" if p.HasField("estimate") else ""
        table.add_row(
            job.job_id, job.model, f"[{STATE_STYLE.get(status, 'white')}]{status}[/]", done,
            estimate, _when(job),
        )  # fmt: skip
    out.print(table)
    if next_token:
        out.print(f"more: {next_page_command(args, next_token)}", style="dim", soft_wrap=True)
    return 0


def next_page_command(args: argparse.Namespace, token: str) -> str:
    """The same `simlab list`, one page on: a page token only means something with the filters
    that made it."""
    words = ["simlab", "list"]
    if args.model:
        words += ["--model", args.model]
    for state in args.state:
        words += ["--state", state]
    if args.id:
        words += ["--id", args.id]
    if args.limit != LIST_LIMIT:
        words += ["--limit", str(args.limit)]
    return " ".join(shlex.quote(w) for w in [*words, "--page-token", token])


def cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    job = client.cancel(args.job_id)
    if args.json:
        emit_json(job_to_dict(job))
    else:
        out.print(f"{job.job_id}: {state_name(job.state)}")
    return 0


def cmd_results(client: Client, args: argparse.Namespace) -> int:
    paths = client.results(args.job_id, Path(args.output))
    if args.json:
        emit_json({"job_id": args.job_id, "files": [str(p) for p in paths]})
    else:
        for path in paths:
            out.print(f"{path}  ({path.stat().st_size:,} bytes)")
    if not paths:
        raise CliError(f"job {args.job_id} has no results yet")
    return 0


class ShardLines:
    """Whole lines out of each shard's log chunks (a chunk may end mid-line)."""

    def __init__(self) -> None:
        self.partial: dict[int, bytes] = {}

    def feed(self, shard: int, data: bytes) -> list[tuple[int, str]]:
        *lines, self.partial[shard] = (self.partial.get(shard, b"") + data).split(b"\n")
        return [(shard, line.decode(errors="replace")) for line in lines]

    def rest(self) -> list[tuple[int, str]]:
        return [(s, part.decode(errors="replace")) for s, part in self.partial.items() if part]


def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    # Lines of several shards interleave: say whose each one is.
    labelled = args.shard is None and client.get(args.job_id).shards > 1
    lines = ShardLines()

    def show(batch: list[tuple[int, str]]) -> None:
        for shard, line in batch:
            if args.json:
                print(json.dumps({"shard": shard, "line": line}))
            else:
                print(f"[shard {shard}] {line}" if labelled else line)
        sys.stdout.flush()

    for chunk in client.logs(args.job_id, follow=args.follow, shard=args.shard):
        show(lines.feed(chunk.shard, chunk.data))
    show(lines.rest())
    return 0


# ---- studies ------------------------------------------------------------------------------

# Points listed under `study submit --wait` and `study results` without -o.
POINTS_SHOWN = 200


def cmd_study_submit(client: Client, args: argparse.Namespace) -> int:
    model = find_model(client, args.model)
    sweep = parse_sweep(args.param, model)
    fixed = {**sweep.fixed, **max_samples(args, args.model, model, [*sweep.fixed, *sweep.axes])}
    precision = new_precision_options(args, args.model, model)
    spec = build_spec(
        args.model,
        params=fixed,
        sweep=sweep.axes,
        labels=sweep.labels,
        sample=parse_sample(args.sample) if args.sample else None,
        crn=args.crn,
        seed=args.seed,
        shards=args.shards,
        precision=make_precision(**{key: precision.get(key) for key in PRECISION_FLAGS.values()}),
        no_cache=args.no_cache,
        title=args.title or "",
    )
    study = client.submit_study(spec, args.request_id)
    said = {"study_id": study.id, "points": study.info.points, "state": study.state}
    if not args.wait:
        if args.json:
            emit_json(said)
        else:
            out.print(
                f"submitted study [bold]{study.id}[/]: {study.info.points:,} points  "
                f"{study.url}  (simlab study watch {study.id})",
                soft_wrap=True,
            )
        return 0
    err.print(
        f"submitted study {study.id}: {study.info.points:,} points  {study.url}", soft_wrap=True
    )
    ended = finish_study(client, study.id, args)
    rows = study_rows(ended, client.study_points(study.id))
    if args.json:
        emit_json({**said, "state": study_state_name(ended.state), "rows": rows})
    else:
        print_study(client, ended)
        print_rows(rows, study_columns(ended), f"simlab study results {study.id} -o study.csv")
    return check_study(ended)


def finish_study(client: Client, study_id: str, args: argparse.Namespace) -> pb.Study:
    """Follows the study to its end: one progress bar on stderr, none under --json."""
    if not args.json:
        return follow_study(client, study_id, err)
    study = pb.Study()
    for event in client.watch_study(study_id):
        study = event.study
    return study


def check_study(study: pb.Study) -> int:
    """0 for a study whose every point succeeded; a CliError (exit 1) otherwise."""
    counts = study.counts
    if study.state == pb.STUDY_STATE_CANCELLED:
        raise CliError(f"study {study.study_id} was cancelled")
    if study.state == pb.STUDY_STATE_FAILED or counts.failed:
        raise CliError(
            f"study {study.study_id}: {counts.failed:,} of {study.points:,} points failed "
            f"(simlab study results {study.study_id} shows which)"
        )
    return 0


def cmd_study_status(client: Client, args: argparse.Namespace) -> int:
    study = client.get_study(args.study_id).info
    if args.json:
        emit_json(study_to_dict(study))
    else:
        print_study(client, study)
    return 0


def cmd_study_watch(client: Client, args: argparse.Namespace) -> int:
    study = finish_study(client, args.study_id, args)
    if args.json:
        emit_json(study_to_dict(study))
    else:
        print_study(client, study)
    return check_study(study)


def print_study(client: Client, study: pb.Study) -> None:
    data = study_to_dict(study)
    counts = data["counts"]
    state = data["state"]
    table = Table(show_header=False, box=None)
    table.add_row(
        "study", escape(data["study_id"] + (f"  {data['title']}" if data["title"] else ""))
    )
    table.add_row("state", f"[{STATE_STYLE.get(state, 'white')}]{state}[/]")
    version = f"@v{data['model_version']}" if data["model_version"] else ""
    table.add_row("model", data["model"].partition("@")[0] + version)
    table.add_row("swept", escape(", ".join(data["swept"])))
    if data["parameters"]:
        fixed = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(data["parameters"].items()))
        table.add_row("fixed", escape(fixed))
    design = data["design"] + (" (common random numbers)" if data["crn"] else "")
    table.add_row("design", f"{design}, seed {data['seed']}, {data['shards']} shard(s) per point")
    if study.spec.HasField("precision"):
        table.add_row("precision", precision_text(study.spec.precision))
    ended = points_ended(study.counts)
    table.add_row(
        "points",
        f"{ended:,} of {data['points']:,} ended ({counts['succeeded']:,} succeeded, "
        f"{counts['failed']:,} failed, {counts['cancelled']:,} cancelled); "
        f"{counts['running']:,} running, {counts['queued']:,} queued",
    )
    table.add_row("samples", f"{data['samples_done']:,} / {data['samples_total']:,}")
    if data["points_per_second"]:
        table.add_row("rate", f"{data['points_per_second']:.3g} points/s")
    if data["eta_seconds"] and ended < data["points"]:
        table.add_row("to go", f"≈ {duration(data['eta_seconds'])}")
    if counts["queued"]:
        table.add_row("queue", f"{data['queue_ahead']:,} runs queued ahead of its next point")
    table.add_row("created", _when(study))
    table.add_row("page", client.study_url(study.study_id))
    out.print(table, soft_wrap=True)


def print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], more: str) -> None:
    """The first POINTS_SHOWN points as aligned columns, never cut to the terminal's width (a
    narrow one wraps the lines); `more` says how to get them all."""
    shown = [columns, *(["" if row[c] is None else _fmt(row[c]) for c in columns]
                        for row in rows[:POINTS_SHOWN])]  # fmt: skip
    widths = [max(len(line[i]) for line in shown) for i in range(len(columns))]
    for line in shown:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    if len(rows) > POINTS_SHOWN:
        out.print(f"… {len(rows) - POINTS_SHOWN:,} more points: {more}", style="dim")


def cmd_study_list(client: Client, args: argparse.Namespace) -> int:
    studies, next_token = client.list_studies(args.limit, args.page_token or "")
    if args.json:
        emit_json({"studies": [study_to_dict(s) for s in studies], "next_page_token": next_token})
        return 0
    table = Table("study", "title", "model", "points", "state", "ended", "created")
    for study in studies:
        state = study_state_name(study.state)
        counts = study.counts
        ended = points_ended(counts)
        table.add_row(
            study.study_id, escape(study.title), study.spec.model, f"{study.points:,}",
            f"[{STATE_STYLE.get(state, 'white')}]{state}[/]",
            f"{ended / study.points:.0%}" if study.points else "", _when(study),
        )  # fmt: skip
    out.print(table)
    if next_token:
        words = ["simlab", "study", "list", "--limit", str(args.limit), "--page-token", next_token]
        out.print(f"more: {shlex.join(words)}", style="dim", soft_wrap=True)
    return 0


def cmd_study_cancel(client: Client, args: argparse.Namespace) -> int:
    study = client.cancel_study(args.study_id)
    if args.json:
        emit_json(study_to_dict(study))
    else:
        out.print(f"{study.study_id}: {study_line(study)}", highlight=False, soft_wrap=True)
    return 0


def cmd_study_results(client: Client, args: argparse.Namespace) -> int:
    if args.output and Path(args.output).suffix.lower() not in FORMATS:
        raise CliError(f"-o {args.output}: write study.csv or study.parquet")
    study = client.get_study(args.study_id)
    rows, columns = study.rows(), study_columns(study.info)
    if not args.output:
        if args.json:
            emit_json({"study_id": study.id, "columns": columns, "rows": rows})
        else:
            print_rows(rows, columns, f"simlab study results {study.id} -o study.csv")
        return 0
    try:
        path = write_rows(rows, columns, Path(args.output))
    except ImportError as error:
        raise CliError(str(error)) from None
    if args.json:
        emit_json({"study_id": study.id, "path": str(path), "rows": len(rows)})
    else:
        out.print(f"{path}  ({len(rows):,} points, {path.stat().st_size:,} bytes)")
    return 0


def cmd_study_compare(client: Client, args: argparse.Namespace) -> int:
    comparison = client.compare_points(args.study_id, args.a, args.b)
    if args.json:
        emit_json(comparison.to_dict())
    else:
        for line in comparison.lines():
            out.print(line, highlight=False, soft_wrap=True)
    return 0


_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | None) -> int:
    """'90s', '30m', '12h', '7d', '2w' -> seconds; 'never' -> SHARE_NEVER_EXPIRES; None (not
    given) -> 0, the server's default expiry."""
    if text is None:
        return 0
    if text == "never":
        return SHARE_NEVER_EXPIRES
    match = _DURATION.fullmatch(text.strip())
    if not match or not int(match.group(1)):
        raise CliError(f"--expires expects e.g. 30m, 12h, 7d or never, got {text!r}")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def share_link_to_dict(link: pb.ShareLink) -> dict[str, Any]:
    expires = link.expires_at.ToJsonString() if link.HasField("expires_at") else None
    revoked = link.revoked_at.ToJsonString() if link.HasField("revoked_at") else None
    if revoked:
        status = "revoked"
    elif link.HasField("expires_at") and link.expires_at.seconds <= time.time():
        status = "expired"
    else:
        status = "active"
    return {
        "link_id": link.link_id,
        # What it shares: a run or a study.
        "job_id": link.job_id or None,
        "study_id": link.study_id or None,
        "created_at": link.created_at.ToJsonString(),
        "expires_at": expires,
        "revoked_at": revoked,
        "status": status,
    }


def cmd_share(client: Client, args: argparse.Namespace) -> int:
    return share(client, args, job_id=args.job_id)


def cmd_study_share(client: Client, args: argparse.Namespace) -> int:
    return share(client, args, study_id=args.study_id)


def share(client: Client, args: argparse.Namespace, job_id: str = "", study_id: str = "") -> int:
    """`simlab share` of a run (job_id) or `simlab study share` of a study: a new link, the
    links (--list), or revoke one (--revoke)."""
    if args.revoke:
        link = share_link_to_dict(client.revoke_share_link(args.revoke))
        if args.json:
            emit_json(link)
        else:
            of = f"job {link['job_id']}" if link["job_id"] else f"study {link['study_id']}"
            out.print(f"revoked share link {link['link_id']} of {of}")
        return 0
    if args.list:
        links = [share_link_to_dict(link) for link in client.share_links(job_id, study_id)]
        if args.json:
            emit_json({"links": links})
            return 0
        table = Table("link", "status", "created", "expires")
        for link in links:
            table.add_row(
                link["link_id"], link["status"], link["created_at"], link["expires_at"] or "never"
            )
        out.print(table)
        return 0
    ttl = parse_duration(args.expires)
    if job_id:
        created = client.share(job_id, ttl)
        url, command = client.share_url(job_id, created.token), f"simlab share {job_id}"
    else:
        created = client.share_study(study_id, ttl)
        url = client.study_share_url(study_id, created.token)
        command = f"simlab study share {study_id}"
    link = share_link_to_dict(created.link)
    if args.json:
        emit_json({**link, "url": url, "token": created.token})
        return 0
    print(url)
    out.print(f"token {created.token}", highlight=False, soft_wrap=True)
    out.print(
        f"link {link['link_id']}, expires {link['expires_at'] or 'never'}; "
        f"revoke with: {command} --revoke {link['link_id']}",
        style="dim",
        highlight=False,
    )
    return 0


def cmd_login(client: Client, args: argparse.Namespace) -> int:
    url = client.login_link()
    if args.json:
        emit_json({"url": url})
        return 0
    out.print(url, highlight=False, soft_wrap=True)
    err.print(
        "open it in your browser within 2 minutes; it works once", style="dim", highlight=False
    )
    return 0


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--server",
        default=default,
        help="gateway URL (default $SIMLAB_SERVER or http://127.0.0.1:8080)",
    )
    parser.add_argument(
        "--token",
        default=default,
        help="bearer token (default $SIMLAB_TOKEN, $SIMLAB_TOKEN_FILE, or .simlab/token)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if default is None else default,
        help="machine-readable output",
    )


def _push_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the .py file with simulate / MODEL, or a script")
    parser.add_argument("--name", help="the model's name (default: the file's name)")
    parser.add_argument("--public", action="store_true", help="visible to everyone")
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="also bundle these files (relative to FILE's directory), e.g. 'data/*.csv'",
    )


def _share_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--expires",
        help="e.g. 30m, 12h, 7d, or never (default: the server's default, 30 days)",
    )
    parser.add_argument("--list", action="store_true", help=f"the {what}'s links")
    parser.add_argument("--revoke", metavar="LINK_ID", help="revoke a link")


def samples_type(text: str) -> int:
    try:
        return sample_count(text, "the sample count")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def tolerance_type(text: str) -> float:
    value = _float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def confidence_type(text: str) -> float:
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), e.g. 0.99, got {text!r}")
    return value


def min_blocks_type(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 2, got {text!r}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _precision_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "precision target",
        "stop at the first block prefix whose confidence interval's half-width is at most "
        "max(abs-tol, rel-tol * |estimate|); the sample parameter is the budget",
    )
    group.add_argument(
        "--rel-tol", type=tolerance_type, metavar="X", help="half-width relative to |estimate|"
    )
    group.add_argument(
        "--abs-tol", type=tolerance_type, metavar="X", help="half-width in the output's units"
    )
    group.add_argument(
        "--confidence", type=confidence_type, metavar="C", help="of the interval (default 0.95)"
    )
    group.add_argument(
        "--min-blocks", type=min_blocks_type, metavar="N", help="the pilot (default 10 blocks)"
    )
    group.add_argument(
        "--two-stage",
        action=argparse.BooleanOptionalAction,
        help="the pilot only sizes the run; the interval comes from fresh blocks (no "
        "optional-stopping bias)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="run even if a finished run could be reused"
    )


def _submit_options(
    parser: argparse.ArgumentParser,
    what: str = "run",
    param_help: str = "a parameter's value (default: the model's)",
    seed_help: str = "0 draws a random seed",
) -> None:
    parser.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE", help=param_help
    )
    parser.add_argument(
        "--shards", type=int, default=1, help="workers per run" if what == "run" else
        "workers per point",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--wait", action="store_true", help=f"follow the {what} until it ends")
    parser.add_argument(
        "--max-samples",
        type=samples_type,
        metavar="N",
        help="the model's sample parameter (the budget with a precision target), e.g. 4e7",
    )
    _precision_options(parser)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; what follows `--` is a script's own arguments (args.args), which
    only run and submit take."""
    words = list(argv)
    script_args = words[words.index("--") + 1 :] if "--" in words else []
    parser = build_parser()
    args = parser.parse_args(words[: words.index("--")] if "--" in words else words)
    if script_args and args.run not in (cmd_run, cmd_submit):
        parser.error("only run and submit take -- ARGS")
    args.args = script_args
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simlab", description=__doc__)
    _global_options(parser, None)
    # The same options after the command (`simlab status ID --json`); SUPPRESS keeps a
    # subcommand from resetting what was given before it.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", parents=[common], help="the models you may run")
    models.set_defaults(run=cmd_models)
    models_sub = models.add_subparsers(dest="models_command")
    pushing = models_sub.add_parser(
        "push", parents=[common], help="push FILE as a new version of a model (not run it)"
    )
    _push_options(pushing)
    pushing.set_defaults(run=cmd_models_push)
    show = models_sub.add_parser(
        "show", parents=[common], help="a model version: parameters, outputs, code"
    )
    show.add_argument("model", metavar="NAME[@vN]")
    show.add_argument("--versions", action="store_true", help="every version, newest first")
    show.set_defaults(run=cmd_models_show)

    running = sub.add_parser(
        "run", parents=[common], help="push FILE and run it (-- ARGS: a script's arguments)"
    )
    _push_options(running)
    _submit_options(running)
    running.set_defaults(run=cmd_run)

    submit = sub.add_parser(
        "submit", parents=[common], help="run a model (-- ARGS: a script's arguments)"
    )
    submit.add_argument("model", metavar="NAME[@vN]")
    _submit_options(submit)
    submit.add_argument("--request-id", help="idempotency key (default: a fresh one)")
    submit.set_defaults(run=cmd_submit)

    extend = sub.add_parser(
        "extend",
        parents=[common],
        help="top a finished run up: more samples or a tighter target, computing only the new "
        "blocks",
    )
    extend.add_argument("job_id")
    extend.add_argument(
        "--samples", type=samples_type, metavar="N", help="the new budget, e.g. 4e7 (default: "
        "the run's)",
    )  # fmt: skip
    extend.add_argument("--shards", type=int, default=0, help="default: the run's")
    extend.add_argument("--wait", action="store_true", help="follow the run until it ends")
    extend.add_argument("--request-id", help="idempotency key (default: a fresh one)")
    _precision_options(extend)
    extend.set_defaults(run=cmd_extend)

    for name, helptext, run in (
        ("status", "a job's state, progress and summary", cmd_status),
        ("watch", "follow a job live until it ends", cmd_watch),
        ("cancel", "cancel a job", cmd_cancel),
    ):
        command = sub.add_parser(name, parents=[common], help=helptext)
        command.add_argument("job_id")
        command.set_defaults(run=run)

    listing = sub.add_parser("list", parents=[common], help="your jobs, newest first")
    listing.add_argument("--model")
    listing.add_argument(
        "--state", action="append", default=[], choices=[s.lower() for s in STATES]
    )
    listing.add_argument("--id", metavar="PREFIX", help="jobs whose id starts with PREFIX")
    listing.add_argument("--limit", type=int, default=LIST_LIMIT)
    listing.add_argument("--page-token")
    listing.set_defaults(run=cmd_list)

    results = sub.add_parser("results", parents=[common], help="download a job's results")
    results.add_argument("job_id")
    results.add_argument("-o", "--output", default=".", help="directory (default: .)")
    results.set_defaults(run=cmd_results)

    logs = sub.add_parser("logs", parents=[common], help="the workers' output of a job")
    logs.add_argument("job_id")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following until it ends")
    logs.add_argument("--shard", type=int, help="one shard only")
    logs.set_defaults(run=cmd_logs)

    share = sub.add_parser(
        "share", parents=[common], help="a read-only link to a job (list or revoke links)"
    )
    share.add_argument("job_id")
    _share_options(share, "job")
    share.set_defaults(run=cmd_share)

    _study_commands(sub, common)

    login = sub.add_parser(
        "login", parents=[common], help="sign a browser in: prints a one-time link"
    )
    login.add_argument(
        "--web", action="store_true", required=True, help="a link for the web UI (valid 2 min)"
    )
    login.set_defaults(run=cmd_login)
    return parser


STUDY_SUBMIT = """A study runs a model at many points, one run each, as one object: the
parameters given as lists or ranges are swept, the others fixed.

  -p strike=90,100,110      a list of values (numbers, true/false, or a choice's names)
  -p volatility=0.1:0.5:9   a range: 9 points from 0.1 to 0.5, both included
  -p rate=log:0.01:1:5      5 points evenly spaced in log(rate)
  -p spot=100               fixed at every point

By default every combination runs (a grid: 3 x 9 x 5 = 135 points above). --sample sobol:256
(or random:256) draws 256 points within ranges given without a count (-p volatility=0.1:0.5)
instead. Each point gets its own seed derived from --seed, or with --crn every point uses it
(common random numbers: the same block streams at every point, so differences between points
are far more precise). Precision flags apply to each point.

  simlab study submit european_option -p strike=90,100,110 -p volatility=0.1:0.5:9 --crn
  simlab study results ID -o study.csv     (or study.parquet)"""


class KeepLines(argparse.HelpFormatter):
    """Keeps the lines of a text written in lines (STUDY_SUBMIT's examples); wraps others."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" not in text:
            return super()._fill_text(text, width, indent)
        return "".join(indent + line for line in text.splitlines(keepends=True))


def _study_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    study = sub.add_parser(
        "study",
        parents=[common],
        help="parameter sweeps as one object: submit, follow, compare and download studies",
        description="A study sweeps a model's parameters: one run per point, submitted, "
        "followed, cancelled and downloaded as one object.",
    )
    commands = study.add_subparsers(dest="study_command", required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit",
        parents=[common],
        help="submit a study: lists and ranges of -p are swept",
        description=STUDY_SUBMIT,
        formatter_class=KeepLines,
    )
    submit.add_argument("model", metavar="NAME[@vN]")
    _submit_options(
        submit,
        what="study",
        param_help="fixed (spot=100), a list (strike=90,100,110), a range (volatility=0.1:0.5:9,"
        " rate=log:0.01:1:5) or, with --sample, a range without a count (volatility=0.1:0.5)",
        seed_help="the study's seed (0 draws one); each point's seed is derived from it, "
        "or is it with --crn",
    )
    submit.add_argument(
        "--sample",
        metavar="DESIGN:N",
        help="sobol:N or random:N: N points drawn within the ranges instead of every combination",
    )
    submit.add_argument(
        "--crn",
        action="store_true",
        help="common random numbers: every point uses the study's seed, so differences "
        "between points are far more precise",
    )
    submit.add_argument("--title", help="a name for the study")
    submit.add_argument("--request-id", help="idempotency key (default: a fresh one)")
    submit.set_defaults(run=cmd_study_submit)

    for name, helptext, run in (
        ("status", "a study's state, counts, rate, time to go, queue position", cmd_study_status),
        ("watch", "one live progress bar for the whole study until it ends (exit 1 if a point "
         "failed or it was cancelled)", cmd_study_watch),
        ("cancel", "cancel every point still queued or running", cmd_study_cancel),
    ):  # fmt: skip
        command = commands.add_parser(name, parents=[common], help=helptext)
        command.add_argument("study_id")
        command.set_defaults(run=run)

    listing = commands.add_parser("list", parents=[common], help="your studies, newest first")
    listing.add_argument("--limit", type=int, default=LIST_LIMIT)
    listing.add_argument("--page-token")
    listing.set_defaults(run=cmd_study_list)

    results = commands.add_parser(
        "results",
        parents=[common],
        help="one row per point: index, each swept parameter, estimate, stderr, ci_low, "
        "ci_high, state, stop_reason, samples, job_id",
    )
    results.add_argument("study_id")
    results.add_argument(
        "-o", "--output", metavar="FILE", help="study.csv, or study.parquet (needs pandas and "
        "pyarrow: pip install 'simlab-client[pandas]'); default: a table here",
    )  # fmt: skip
    results.set_defaults(run=cmd_study_results)

    compare = commands.add_parser(
        "compare",
        parents=[common],
        help="point B minus point A: the difference ± half-width, its stderr against "
        "independent seeds', the correlation",
    )
    compare.add_argument("study_id")
    compare.add_argument("a", type=int, metavar="A", help="a point's index")
    compare.add_argument("b", type=int, metavar="B", help="another point's index")
    compare.set_defaults(run=cmd_study_compare)

    share = commands.add_parser(
        "share", parents=[common], help="a read-only link to a study (list or revoke links)"
    )
    share.add_argument("study_id")
    _share_options(share, "study")
    share.set_defaults(run=cmd_study_share)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with Client(args.server, args.token) as client:
            return int(args.run(client, args))
    except StudySpecError as error:  # a usage error, as argparse's are
        say_error(error)
        return 2
    except (SimlabError, CliError, BundleError) as error:
        say_error(error)
        return 1
    except KeyboardInterrupt:
        return 130


def say_error(error: Exception) -> None:
    # The message is text: "[pandas]" in it is no markup.
    err.print(f"simlab: error: {error}", highlight=False, soft_wrap=True, markup=False)


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
