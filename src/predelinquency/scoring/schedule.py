"""`pde nightly --schedule`: stay running and score once a day at the configured local time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

log = logging.getLogger(__name__)


def next_run(now: datetime, hhmm: str) -> datetime:
    """The next moment at hh:mm strictly after now."""
    hour, minute = map(int, hhmm.split(":"))
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def run_forever(hhmm: str, job: Callable[[], None], sleep: Callable[[float], None] = time.sleep) -> None:
    """Runs job daily at hh:mm; a failed run is logged (and recorded by the job) and the loop carries on."""
    while True:
        due = next_run(datetime.now(), hhmm)
        log.warning("next nightly run at %s", due.isoformat(timespec="minutes"))
        sleep(max((due - datetime.now()).total_seconds(), 0))
        try:
            job()
        except Exception:  # the batch_runs row holds the error; the worker must survive to run tomorrow
            log.exception("nightly run failed")
