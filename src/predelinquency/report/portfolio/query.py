"""The rows of a query as a table, for the portfolio's sections."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, text


def query_frame(conn: Connection, sql: str, **params: Any) -> pd.DataFrame:
    """The rows the query returns, under its column names."""
    result = conn.execute(text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
