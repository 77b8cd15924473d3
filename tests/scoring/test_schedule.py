"""`pde nightly --schedule`: the next run time, and a loop that outlives a failed run."""

from __future__ import annotations

from datetime import datetime

import pytest

from predelinquency.scoring.schedule import next_run, run_forever


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 11, 23, 1, 59, 59), datetime(2026, 11, 23, 2, 0)),
    (datetime(2026, 11, 23, 2, 0), datetime(2026, 11, 24, 2, 0)),  # exactly now: tomorrow, never twice
    (datetime(2026, 11, 30, 23, 0), datetime(2026, 12, 1, 2, 0)),
])
def test_next_run_is_strictly_after_now(now, expected):
    assert next_run(now, "02:00") == expected


class Stop(Exception):
    pass


def test_a_failed_run_is_logged_and_the_worker_carries_on(caplog: pytest.LogCaptureFixture):
    calls: list[str] = []
    sleeps: list[float] = []

    def job() -> None:
        calls.append("run")
        if len(calls) == 1:
            raise RuntimeError("database restarting")

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise Stop  # end the test on the third wait

    with pytest.raises(Stop):
        run_forever("02:00", job, sleep)
    assert calls == ["run", "run"]
    assert all(0 <= s <= 24 * 3600 for s in sleeps)
    assert "nightly run failed" in caplog.text and "database restarting" in caplog.text
