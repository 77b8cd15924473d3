"""`advance_day`: the generated bank goes on one business date at a time, deterministically and point in time,
with the generator's hidden contact effects and the potential outcomes they imply."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text

from predelinquency.domain.vocabulary import INTERVENTION_TYPES
from predelinquency.errors import PdeError
from predelinquency.settings import Settings
from predelinquency.simulate.advance import Contacts, advance_day
from predelinquency.simulate.generate import generate_bank
from predelinquency.simulate.state import SimState
from tests.support.db import TEMPLATE, cloned_database, create_database, drop_database

END = date(2026, 10, 31)
CUSTOMERS, DAYS, SEED = 300, 150, 11
# md5 of each generated table (300 customers, 150 days, seed 11, chunks of 120) taken before generation
# persisted its state: persisting it must not change one generated row
BEFORE = {
    "customers": "86b369b1cf24b3a1a6026c3e00ad4a3d", "accounts": "5de8a8ee95ef381ff667c31e67841cb3",
    "payments": "00cd629b21ac968c1d6b6193b9be3ae7", "transactions": "9d1c99991d35c670861f6ba81cc69415",
    "daily_balances": "b6c6478b5c5ba501014cda41be3c9e3f", "labels": "641e6b209fdac4a3ede3475289fbb82c",
}
KEYS = {"customers": "customer_id", "accounts": "account_id", "payments": "payment_id", "transactions": "txn_id",
        "daily_balances": "customer_id, day", "labels": "customer_id, as_of",
        "simulated_outcomes": "customer_id, eligible_on", "simulation_state": "chunk", "simulation_bank": "seed"}
# rows dated up to the generated end: advancing must never change them
BEFORE_END = {"transactions": "ts < CAST(:end AS date) + 1", "daily_balances": "day <= :end",
              "labels": "as_of <= :end", "payments": "due_date <= :end", "customers": "true", "accounts": "true"}


def _settings(tmp: object) -> Settings:
    s = Settings(data_dir=tmp)
    s.simulation = s.simulation.model_copy(update={"chunk_customers": 120})
    return s


@pytest.fixture(scope="module")
def template(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A generated bank (several chunks) to clone."""
    name = f"pde_adv_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, TEMPLATE, name=name)
    eng = create_engine(url)
    generate_bank(eng, _settings(tmp_path_factory.mktemp("adv")), customers=CUSTOMERS, days=DAYS, seed=SEED)
    eng.dispose()
    yield name
    drop_database(pg_server_url, url)


@pytest.fixture
def bank(pg_server_url: str, template: str) -> Iterator[Engine]:
    with cloned_database(pg_server_url, template) as url:
        eng = create_engine(url)
        yield eng
        eng.dispose()


def _digest(eng: Engine, table: str, where: str = "true", **params: object) -> str:
    with eng.connect() as c:
        return c.execute(text(f"SELECT md5(string_agg(x::text, '|' ORDER BY {KEYS[table]})) FROM {table} x "
                              f"WHERE {where}"), params).scalar_one()


def _contacts(day: int) -> Contacts:
    rng = np.random.default_rng(day)
    return Contacts(rng.choice(np.arange(1, CUSTOMERS + 1), 20, replace=False), rng.integers(0, 5, 20))


def _advance(eng: Engine, settings: Settings, days: int, per_transaction: int = 1) -> list:
    out = []
    for lo in range(0, days, per_transaction):
        with eng.begin() as c:
            for k in range(lo, min(lo + per_transaction, days)):
                out.append(advance_day(c, settings, _contacts(k), np.arange(1, CUSTOMERS + 1)))
    return out


@dataclass
class Advanced:
    engine: Engine
    results: list


@pytest.fixture(scope="module")
def advanced(pg_server_url: str, template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Advanced]:
    """The bank advanced 35 days, every customer eligible every day, 20 random contacts a day."""
    with cloned_database(pg_server_url, template) as url:
        eng = create_engine(url)
        yield Advanced(eng, _advance(eng, _settings(tmp_path_factory.mktemp("adv2")), 35))
        eng.dispose()


def test_generation_is_unchanged_and_persists_its_state(bank: Engine):
    for table, digest in BEFORE.items():
        assert _digest(bank, table) == digest, table
    with bank.connect() as c:
        b = c.execute(text("SELECT * FROM simulation_bank")).one()
        chunks = c.execute(text("SELECT chunk, first_customer, customers, last_day, state FROM simulation_state "
                                "ORDER BY chunk")).all()
        assert c.execute(text("SELECT pde_business_date()")).scalar_one() == END + timedelta(days=1)
    assert (b.seed, b.last_day, b.start_date) == (SEED, END, END - timedelta(days=DAYS - 1))
    assert b.params["chunks"] == [[r.first_customer, r.customers] for r in chunks] and len(chunks) > 2
    state = SimState.from_bytes(bytes(chunks[1].state))
    assert state.customers.customer_id[0] == chunks[1].first_customer and state.customers.n == chunks[1].customers
    assert state.day == (END - date(1970, 1, 1)).days and len(state.carry) > 0
    assert 0.2 < state.traits.inattentive.mean() < 0.4 and (state.traits.engagement == 0).any()


def test_advance_is_deterministic_and_one_plus_one_days_is_two(pg_server_url: str, template: str, tmp_path):
    settings = _settings(tmp_path)
    with cloned_database(pg_server_url, template) as a, cloned_database(pg_server_url, template) as b:
        ea, eb = create_engine(a), create_engine(b)
        ra = _advance(ea, settings, 3, per_transaction=3)   # three days in one go
        rb = _advance(eb, settings, 3, per_transaction=1)   # one day at a time
        assert [r.rows for r in ra] == [r.rows for r in rb] and [r.responded for r in ra] == [r.responded for r in rb]
        for table in ("transactions", "payments", "labels", "daily_balances", "simulated_outcomes", "simulation_state"):
            assert _digest(ea, table) == _digest(eb, table), table
        ea.dispose()
        eb.dispose()


def test_advancing_never_changes_earlier_rows(bank: Engine, tmp_path):
    before = {t: _digest(bank, t, w, end=END) for t, w in BEFORE_END.items()}
    results = _advance(bank, _settings(tmp_path), 3)
    assert [r.day for r in results] == [END + timedelta(days=k) for k in (1, 2, 3)]
    assert {t: _digest(bank, t, w, end=END) for t, w in BEFORE_END.items()} == before
    with bank.connect() as c:
        assert c.execute(text("SELECT pde_business_date()")).scalar_one() == END + timedelta(days=4)
        assert c.execute(text("SELECT min(ts), max(ts) FROM transactions WHERE ts >= CAST(:d AS date)"),
                         {"d": END + timedelta(days=1)}).one()[1].date() == END + timedelta(days=3)


def _whole_bank(eng: Engine) -> dict[str, str]:
    out = {t: _digest(eng, t) for t in ("transactions", "payments", "labels", "daily_balances", "simulated_outcomes")}
    with eng.connect() as c:
        out["business_date"] = str(c.execute(text("SELECT pde_business_date()")).scalar_one())
    return out


def test_refused_on_a_bank_not_generated_leaving_it_unchanged(bank: Engine, tmp_path):
    with bank.begin() as c:
        c.execute(text("DELETE FROM simulation_bank"))
    before = _whole_bank(bank)
    refused = r"not generated by `pde generate`.*ingest \(Data Management or `pde ingest`\)"
    with pytest.raises(PdeError, match=refused), bank.begin() as c:
        advance_day(c, _settings(tmp_path), Contacts.none(), np.zeros(0, np.int64))
    assert _whole_bank(bank) == before


def test_a_failed_day_leaves_the_bank_as_it_was(bank: Engine, tmp_path):
    before = _whole_bank(bank)
    with pytest.raises(PdeError, match="not in this bank"), bank.begin() as c:
        # every chunk is simulated and written before the unknown customer is noticed: the rollback undoes it
        advance_day(c, _settings(tmp_path), Contacts(np.array([3, 10**9]), np.array([0, 1])), np.arange(1, 50))
    with pytest.raises(PdeError, match="action must index"), bank.begin() as c:
        advance_day(c, _settings(tmp_path), Contacts(np.array([3]), np.array([7])), np.arange(1, 50))
    assert _whole_bank(bank) == before
    with bank.connect() as c:
        assert c.execute(text("SELECT last_day FROM simulation_bank")).scalar_one() == END


def test_potential_outcomes_agree_with_what_happened(advanced: Advanced):
    contacted = {}
    for k, r in enumerate(advanced.results):
        c = _contacts(k)
        for cid, a in zip(c.customer_id.tolist(), c.action.tolist(), strict=True):
            contacted[(cid, r.day)] = INTERVENTION_TYPES[a]
    with advanced.engine.connect() as c:
        rows = c.execute(text("""
            SELECT o.*, EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = o.customer_id
                                AND p.due_date = o.due_date AND p.status = 'missed') AS missed
            FROM simulated_outcomes o""")).all()
    assert len(rows) > 3000
    used = 0
    for r in rows:
        assert r.eligible_on < r.due_date <= r.eligible_on + timedelta(days=30)
        action = contacted.get((r.customer_id, r.eligible_on))
        expected = r.missed_none if action is None else r.missed_action[action]
        assert r.missed == expected, r
        used += action is not None
        for a in INTERVENTION_TYPES:
            assert 0 <= r.p_action[a] <= r.p_none + 1e-12  # a contact never raises the chance of a miss
            assert r.missed_action[a] <= r.missed_none or not r.missed_none
    assert used > 30
    # the generator's contacts do something: on average across rows, each action lowers P(miss)
    p_none = np.mean([r.p_none for r in rows])
    for a in INTERVENTION_TYPES:
        assert np.mean([r.p_action[a] for r in rows]) < p_none


def test_sql_rollup_rows_are_the_simulators_balances(advanced: Advanced):
    with advanced.engine.connect() as c:
        day = c.execute(text("SELECT last_day FROM simulation_bank")).scalar_one()
        rows = {r.customer_id: (r.balance, r.savings_balance) for r in c.execute(
            text("SELECT customer_id, balance, savings_balance FROM daily_balances WHERE day = :d"), {"d": day})}
        blobs = c.execute(text("SELECT state FROM simulation_state")).scalars().all()
    states = [SimState.from_bytes(bytes(b)) for b in blobs]
    for s in states:
        for cid, bal, sav in zip(s.customers.customer_id, s.balance, s.savings, strict=True):
            assert rows[int(cid)] == (bal / 100, sav / 100)


def test_effects_differ_by_action_and_by_customer():
    from predelinquency.simulate.effects import lifts, response_prob
    from predelinquency.simulate.state import Traits
    from predelinquency.simulate.stress import (
        EXPENSE,
        INCOME_DROP,
        JOB_LOSS,
        NONE,
        PLATEAU,
        RAMP,
        StressState,
    )

    # calm and forgetful; deep job loss; early income drop; income drop; expense shock; calm but stretched
    phase = np.array([NONE, PLATEAU, RAMP, PLATEAU, PLATEAU, NONE], np.int8)
    kind = np.array([0, JOB_LOSS, INCOME_DROP, INCOME_DROP, EXPENSE, 0], np.int8)
    m = np.array([0.0, 3.2, 0.6, 2.0, 1.8, 0.0])
    x = np.array([-0.2, 0.3, 0.1, 0.0, 0.0, 0.9])
    n = len(x)
    s = StressState(x, phase, np.full(n, 20, np.int32), np.where(m > 0, m, 1.0), np.full(n, 30, np.int32), kind,
                    np.zeros(n), m)
    traits = Traits(np.array([True, True, False, False, False, False]), np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0]))
    lift = {a: lifts(s, traits)[:, i] for i, a in enumerate(INTERVENTION_TYPES)}
    calm, job, early, income, expense, stretched = range(n)
    assert lift["soft_reminder"][calm] > 3 * lift["soft_reminder"][job]          # forgets vs cannot pay
    assert lift["agent_call"][early] > 4 * lift["agent_call"][job]                 # early stress
    assert lift["restructuring_offer"][income] > max(lift["restructuring_offer"][[job, expense, calm]])
    assert lift["payment_holiday"][expense] > max(lift["payment_holiday"][[job, income, calm]])
    assert max(v[job] for v in lift.values()) <= 0.2                               # little helps deep job loss
    best = {a: int(np.argmax(v)) for a, v in lift.items()}
    assert best["soft_reminder"] == calm and best["payment_holiday"] == expense
    # roughly a third to two thirds fewer misses for the right customers, once the response is integrated
    resp = response_prob(traits)
    for a, who in (("soft_reminder", calm), ("agent_call", early), ("restructuring_offer", income),
                   ("payment_holiday", expense)):
        i = INTERVENTION_TYPES.index(a)
        fall = resp[who, i] * (1 - np.exp(-lift[a][who]))
        assert 0.3 <= fall <= 0.7, (a, fall)
    assert (resp[stretched] == 0).all()  # who ignores contacts is never helped


def _window_figures(eng: Engine, lo: date, hi: date) -> dict[str, float]:
    with eng.connect() as c:
        t = c.execute(text("""
            SELECT count(*) AS txns,
                   sum(-amount) FILTER (WHERE amount < 0 AND status = 'posted') AS spend,
                   count(*) FILTER (WHERE category = 'salary') AS salaries
            FROM transactions WHERE ts >= CAST(:lo AS date) AND ts < CAST(:hi AS date) + 1"""),
                      {"lo": lo, "hi": hi}).one()
        p = c.execute(text("SELECT count(*) FILTER (WHERE status = 'missed'), count(*) FROM payments "
                           "WHERE due_date BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi}).one()
    days = (hi - lo).days + 1
    return {"txns": t.txns / CUSTOMERS / days, "spend": float(t.spend) / CUSTOMERS / days,
            "salaries": t.salaries, "missed": p[0], "due": p[1]}


def test_advanced_days_look_like_generated_days(advanced: Advanced):
    # both windows hold days of month 1..30 once: every pay day and due day once
    gen = _window_figures(advanced.engine, date(2026, 10, 1), date(2026, 10, 30))
    adv = _window_figures(advanced.engine, date(2026, 11, 1), date(2026, 11, 30))
    # 9,000 customer-days each: transaction counts are averages of many, so 5 % is several standard errors;
    # spending is heavy-tailed (lognormal amounts), so 10 %
    assert adv["txns"] == pytest.approx(gen["txns"], rel=0.05)
    assert adv["spend"] == pytest.approx(gen["spend"], rel=0.10)
    assert adv["salaries"] == pytest.approx(gen["salaries"], rel=0.08)
    # a few hundred instalments and a few percent missed: a two-proportion test at 3 standard errors
    p1, p2 = gen["missed"] / gen["due"], adv["missed"] / adv["due"]
    pool = (gen["missed"] + adv["missed"]) / (gen["due"] + adv["due"])
    se = np.sqrt(pool * (1 - pool) * (1 / gen["due"] + 1 / adv["due"]))
    assert abs(p1 - p2) < 3 * se, (gen, adv)
