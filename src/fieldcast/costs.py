"""What an operation costs, per replication, from the scenario's unit costs (docs/model.md,
section 8)."""

from __future__ import annotations

import numpy as np

from fieldcast.scenario import Costs


def cost_items(
    costs: Costs,
    officer_days: float,
    bed_days: np.ndarray,
    monitor_days: np.ndarray,
    removed_persons: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Officers, beds, monitors and transport in USD, per replication (officers are scheduled,
    so the same in every replication)."""
    return (
        officer_days * costs.officer_day,
        bed_days * costs.bed_day,
        monitor_days * costs.monitor_day,
        removed_persons * costs.removal_seat,
    )


def replication_costs(
    costs: Costs,
    officer_days: float,
    bed_days: np.ndarray,
    monitor_days: np.ndarray,
    removed_persons: np.ndarray,
) -> np.ndarray:
    """The total cost of each replication in USD: the sum of its ``cost_items``."""
    return sum(cost_items(costs, officer_days, bed_days, monitor_days, removed_persons))
