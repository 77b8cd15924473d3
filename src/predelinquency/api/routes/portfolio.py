"""GET /stats, /customers/{id}/history and /high-risk-customers: reads of the nightly scores."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from predelinquency.api import queries
from predelinquency.api.deps import Authenticated
from predelinquency.api.errors import responses
from predelinquency.api.schemas import (
    BIGINT_MAX,
    CustomerHistory,
    HighRiskCustomers,
    HighRiskQuery,
    HistoryQuery,
    PortfolioStats,
)

router = APIRouter(tags=["portfolio"])


@router.get("/stats", response_model=PortfolioStats, responses=responses())
async def stats(caller: Authenticated) -> dict[str, Any]:
    """Portfolio figures from the champion model's latest nightly scores, and the open workload."""
    return await caller.read(lambda conn, user: queries.portfolio_stats(conn))


@router.get("/customers/{customer_id}/history", response_model=CustomerHistory, responses=responses(404))
async def customer_history(
    customer_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)], query: Annotated[HistoryQuery, Query()],
    caller: Authenticated,
) -> dict[str, Any]:
    """The customer's daily scores over time, oldest first (404 for an unknown customer)."""
    scores = await caller.read(lambda conn, user: queries.customer_history(conn, customer_id, query.limit))
    return {"customer_id": customer_id, "scores": scores}


@router.get("/high-risk-customers", response_model=HighRiskCustomers, responses=responses())
async def high_risk_customers(query: Annotated[HighRiskQuery, Query()], caller: Authenticated) -> dict[str, Any]:
    """The champion's latest scores in the tier, highest PD first, with the officer each customer is assigned to.

    Unknown query parameters are refused (422), so a misspelt filter is never silently ignored.
    """
    return await caller.read(lambda conn, user: queries.high_risk_customers(conn, query.limit, query.tier))
