"""The synthetic bank played forward in memory from its saved state, with no contacts and every active customer
eligible for contact each day: the no-contact world the policy backtest (loop/backtest) replays policies on.

The days are those `pde advance` would simulate (simulate/advance.advance_day: the same state, streams and
simulate_day), but nothing is written: each day's daily_balances rows, the payments ledger (settled and extended
as advance writes it) and the potential outcomes of every eligibility stay in memory. Eligibility draws nothing
from the day's streams, so making everyone eligible changes no row of the world.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

import numpy as np
import polars as pl
from sqlalchemy import Connection, text

from predelinquency.db.inputs import DAILY_SCHEMA, PAYMENT_SCHEMA
from predelinquency.settings import Settings
from predelinquency.simulate.advance import require_simulated_bank
from predelinquency.simulate.daily import daily_frame
from predelinquency.simulate.day import Instalments, Outcomes, simulate_day
from predelinquency.simulate.payments import STATUSES
from predelinquency.simulate.state import SimState
from predelinquency.table import Columns, Table, column

_EPOCH = date(1970, 1, 1)
_NAT = np.iinfo(np.int64).min          # NaT as datetime64[D]'s int64
_NO_CONTACTS = np.zeros(0, np.int64)


@dataclass
class ForwardDay:
    """One simulated business date: every customer's daily row and the potential outcomes settled on it."""

    day: date
    daily: pl.DataFrame     # daily_balances rows (DAILY_SCHEMA), one per customer, ascending customer_id
    outcomes: Outcomes      # cust holds customer ids; eligible_on and due are epoch days


class PaymentBook:
    """The payments table in memory, settled and extended day by day as advance_day writes it: the pending
    instalment due on the day gets its outcome, and each product its next pending instalment."""

    _FLOAT = ("amount_due", "amount_paid", "days_late")
    _DAYS = ("due_date", "paid_date")

    def __init__(self, payments: Table, next_id: int) -> None:
        self.height = payments.height
        self._cols: dict[str, np.ndarray] = {}
        for name in PAYMENT_SCHEMA:
            values = column(payments, name)
            if name in self._DAYS:
                values = values.astype("datetime64[D]").astype(np.int64)    # NaT -> _NAT
            elif name in self._FLOAT:
                values = values.astype(np.float64)                          # null -> NaN
            elif name == "status":
                values = values.astype(object)
            else:
                values = values.astype(np.int64)
            self._cols[name] = values.copy()
        self.next_id = next_id
        pending = np.flatnonzero(self._cols["status"] == "pending")
        order = np.argsort(self._cols["account_id"][pending], kind="stable")
        self._pending_account = self._cols["account_id"][pending][order]
        self._pending_row = pending[order]
        if len(np.unique(self._pending_account)) != len(pending):
            raise RuntimeError("an account has more than one pending payment")

    def settle(self, day: int, customer_id: np.ndarray, inst: Instalments) -> None:
        """Settles the instalments due on epoch day `day` (customers by id) and adds each one's next pending row."""
        if not len(customer_id):
            return
        acc = customer_id * 10 + inst.product
        at = np.minimum(np.searchsorted(self._pending_account, acc), max(len(self._pending_account) - 1, 0))
        rows = self._pending_row[at] if len(self._pending_row) else None
        if rows is None or not ((self._pending_account[at] == acc) & (self._cols["due_date"][rows] == day)).all():
            raise RuntimeError(f"instalments due on {_EPOCH + timedelta(days=day)} have no pending payment row")
        paid = inst.days_late >= 0
        amount = inst.amount / 100
        c = self._cols
        c["status"][rows] = np.array(STATUSES, dtype=object)[inst.status]
        c["paid_date"][rows] = np.where(paid, day + inst.days_late.astype(np.int64), _NAT)
        c["days_late"][rows] = np.where(paid, inst.days_late, np.nan)
        c["amount_paid"][rows] = np.where(paid, amount, 0.0)
        new = np.arange(self.height, self.height + len(acc))
        self._append({"payment_id": self.next_id + np.arange(len(acc)), "customer_id": customer_id,
                      "account_id": acc, "due_date": inst.next_due.astype(np.int64), "amount_due": amount,
                      "paid_date": np.full(len(acc), _NAT), "amount_paid": np.zeros(len(acc)),
                      "days_late": np.full(len(acc), np.nan), "status": np.full(len(acc), "pending", dtype=object)})
        self.next_id += len(acc)
        self._pending_row[at] = new

    def _append(self, rows: dict[str, np.ndarray]) -> None:
        m = len(rows["payment_id"])
        if self.height + m > len(self._cols["payment_id"]):
            grow = max(self.height + m, 2 * len(self._cols["payment_id"]))
            for name, arr in self._cols.items():
                out = np.empty(grow, dtype=arr.dtype)
                out[:self.height] = arr[:self.height]
                self._cols[name] = out
        for name, arr in self._cols.items():
            arr[self.height:self.height + m] = rows[name]
        self.height += m

    def table(self) -> Columns:
        """The payments as they stand (a copy: later days do not change it), in PAYMENT_SCHEMA's columns."""
        data = {name: arr[:self.height].copy() for name, arr in self._cols.items()}
        for name in self._DAYS:
            data[name] = data[name].view("datetime64[D]")
        return Columns(data, PAYMENT_SCHEMA, self.height)


class ForwardBank:
    """The bank's next days, simulated in memory from simulation_state with no contacts: read-only on `conn`."""

    def __init__(self, conn: Connection, settings: Settings, payments: Table, eligible: np.ndarray) -> None:
        """payments: every payments row of the bank (pending ones included); eligible: the customer ids
        eligible for contact every day (their potential outcomes are recorded)."""
        require_simulated_bank(conn)
        bank = conn.execute(text("SELECT seed, intercept, last_day, params FROM simulation_bank")).one()
        sim = {**settings.simulation.model_dump(), **bank.params.get("simulation", {})}
        self.seed, self._intercept = int(bank.seed), float(bank.intercept)
        self._grace, self._txn_min = int(sim["grace_days"]), int(sim["txn_per_month_min"])
        self.window = settings.operations.outcome_window_days
        self.last_day: date = bank.last_day
        self._chunks: list[tuple[int, int, SimState]] = []
        for index, first, blob in conn.execute(text(
                "SELECT chunk, first_customer, state FROM simulation_state ORDER BY chunk")).all():
            state = SimState.from_bytes(bytes(blob))
            if state.day != (bank.last_day - _EPOCH).days:
                raise RuntimeError(f"simulation_state chunk {index} ends on day {state.day}, "
                                   "not on the bank's last day")
            self._chunks.append((int(index), int(first), state))
        eligible = np.unique(np.asarray(eligible, np.int64))
        self._eligible = [eligible[(eligible >= first) & (eligible < first + s.customers.n)] - first
                          for _, first, s in self._chunks]
        next_id = conn.execute(text("SELECT coalesce(max(payment_id), 0) + 1 FROM payments")).scalar_one()
        self.payments = PaymentBook(payments, int(next_id))

    @property
    def customer_ids(self) -> np.ndarray:
        """Every simulated customer, ascending (the order of each day's rows)."""
        return np.concatenate([s.customers.customer_id for _, _, s in self._chunks]).astype(np.int64)

    def step(self) -> ForwardDay:
        """Simulates the day after the last one, chunk by chunk as advance_day does, and returns what it made."""
        day = self.last_day + timedelta(days=1)
        epoch = (day - _EPOCH).days
        frames, outcomes = [], []
        for k, ((index, first, state), local) in enumerate(zip(self._chunks, self._eligible, strict=True)):
            out = simulate_day(state, self.seed, index, self._intercept, grace_days=self._grace,
                               txn_min=self._txn_min, window=self.window, contact_cust=_NO_CONTACTS,
                               contact_action=_NO_CONTACTS, eligible=local)
            ids = state.customers.customer_id.astype(np.int64)
            self.payments.settle(epoch, ids[out.instalments.cust], out.instalments)
            frames.append(daily_frame(out.daily, ids, epoch))
            o = out.outcomes
            outcomes.append(Outcomes(ids[o.cust], *(getattr(o, f.name) for f in fields(Outcomes)[1:])))
            self._chunks[k] = (index, first, out.state)
        self.last_day = day
        joined = Outcomes(*(np.concatenate([getattr(o, f.name) for o in outcomes]) for f in fields(Outcomes)))
        return ForwardDay(day, pl.concat(frames).cast(DAILY_SCHEMA), joined)
