"""The CSV upload panel: check every row of every file, list each problem, load all files or nothing."""

from __future__ import annotations

import hashlib
import logging

import pandas as pd
import streamlit as st

from dashboard import actions, ui
from dashboard.queries import core
from predelinquency.errors import PdeError
from predelinquency.ingest.load import UploadRejected
from predelinquency.ingest.schemas import SPECS
from predelinquency.ingest.validate import Parsed, RowError, parse, summarise
from predelinquency.operations.uploads import upload

log = logging.getLogger("predelinquency.dashboard")
SHOWN_ERRORS = 1_000


def _errors_frame(errors: list[RowError]) -> pd.DataFrame:
    return pd.DataFrame([(e.line, e.column, e.problem) for e in errors], columns=["Line", "Column", "Problem"])


def _report(kind: str, name: str, rows: int, errors: list[RowError]) -> None:
    if not errors:
        st.success(f"**{kind}** · {name}: {rows:,} rows, all valid.", icon=":material/check_circle:")
        return
    st.error(f"**{kind}** · {name}: {len(errors):,} problem(s) in {rows:,} rows.", icon=":material/error:")
    for sentence in summarise(errors):
        st.markdown(f"- {sentence}")
    frame = _errors_frame(errors)
    st.dataframe(frame.head(SHOWN_ERRORS), hide_index=True, height=ui.rows_height(len(frame), 320))
    st.download_button(f"Download all {len(errors):,} problems ({kind})", frame.to_csv(index=False),
                       file_name=f"{kind}-problems.csv", mime="text/csv", key=f"dl-{kind}")


def panel() -> None:
    """Uploaders for customers, accounts, transactions and payments; check, report, then load in one transaction."""
    st.caption("Each file needs a header row with the column names below. Every row is checked; if any row of any "
               "file is bad, nothing is loaded. Ids that already exist in the database are errors.")
    with st.expander("Expected columns"):
        for kind, spec in SPECS.items():
            cols = ", ".join(f"`{c.name}`" + ("" if c.required else " (optional)") for c in spec.columns)
            st.markdown(f"**{kind}**: {cols}")
    cols = st.columns(len(SPECS))
    files = {kind: col.file_uploader(kind.capitalize(), type=["csv"], key=f"up-{kind}")
             for col, kind in zip(cols, SPECS, strict=True)}
    files = {k: f for k, f in files.items() if f is not None}
    if not files:
        return
    fingerprint = hashlib.sha256(b"".join(k.encode() + f.getvalue()[:1_000_000] + str(f.size).encode()
                                          for k, f in sorted(files.items()))).hexdigest()
    checked = st.session_state.get("upload_checked")
    if checked is None or checked[0] != fingerprint:
        if not st.button("Check files", type="primary", icon=":material/fact_check:"):
            return
        with st.spinner("Checking every row…"):
            parsed = {kind: parse(kind, f.getvalue()) for kind, f in files.items()}
        checked = (fingerprint, parsed, {k: f.name for k, f in files.items()})
        st.session_state["upload_checked"] = checked
        st.session_state.pop("upload_db_errors", None)
    _, parsed, names = checked
    parsed: dict[str, Parsed]
    for kind, p in parsed.items():
        _report(kind, names[kind], p.frame.height, p.errors)
    db_errors: dict[str, list[RowError]] = st.session_state.get("upload_db_errors", {})
    for kind, errors in db_errors.items():
        _report(kind, names.get(kind, kind) + " (checked against the database)", parsed[kind].frame.height, errors)
    if any(p.errors for p in parsed.values()) or db_errors:
        st.warning("Nothing was loaded. Correct the files and upload them again.", icon=":material/block:")
        return
    total = sum(p.frame.height for p in parsed.values())
    if st.button(f"Load {total:,} rows into the database", type="primary", icon=":material/upload:"):
        try:
            with core.engine().begin() as conn:
                counts = upload(conn, actions.current_user(), parsed, names)
        except UploadRejected as exc:
            st.session_state["upload_db_errors"] = exc.errors
            st.rerun()
        except Exception as exc:
            if not isinstance(exc, PdeError):
                log.exception("upload failed")
            st.error(ui.user_message(exc), icon=":material/error:")
            return
        core.invalidate()
        for key in ("upload_checked", "upload_db_errors", *(f"up-{k}" for k in SPECS)):
            st.session_state.pop(key, None)
        ui.flash("success", "Loaded " + ", ".join(f"{n:,} {k}" for k, n in counts.items()) + ". The audit log "
                 "records the upload; new transactions are used from the next nightly run.")
        st.rerun()
