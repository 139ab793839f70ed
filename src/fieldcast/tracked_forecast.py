"""A tracked forecast kept in the run store, going on from the filter kept last time.

``fieldcast forecast --observed`` and the dashboard's track jobs both do this: find the newest
stored filter of the same counts' set (same model, particles and seed), let ``tracking.track``
go on from it where the counts extend what it saw (or filter again from day 0 where they were
revised), and keep the new filter. One function, so that both give the same numbers and keep
the same things.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fieldcast.observations import ObservationError, ObservationSet, check_observations
from fieldcast.scenario import Scenario
from fieldcast.store import RunStore
from fieldcast.tracking import Tracking, track, tracked_model

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class KeptTracking:
    """A tracked forecast, where it is kept, and whether a stored filter had to be dropped."""

    tracking: Tracking
    tracking_id: str | None  # None: not kept
    filtered_again: bool  # a stored filter of this set saw other counts (revised): from day 0


def stored_counts(
    store: RunStore, reference: str, scenario: Scenario
) -> tuple[ObservationSet, str]:
    """A stored observation set (``NAME`` for its latest version, or ``NAME@VERSION``),
    checked against ``scenario``, and a label naming it, its version and its hash.

    Parameters
    ----------
    store : RunStore
        Where the set is kept.
    reference : str
        ``NAME`` or ``NAME@VERSION``.
    scenario : Scenario
        The scenario the counts must fit (its places and days).

    Returns
    -------
    tuple of (ObservationSet, str)
        The counts and their label.

    Raises
    ------
    ObservationError
        If the reference is malformed or the counts do not fit the scenario.
    StoreError
        If there is no such set or version.
    """
    name, _, number = reference.partition("@")
    if number and not number.isdigit():
        raise ObservationError(f"observations {reference!r}: give NAME or NAME@VERSION")
    info, observed = store.observations(name, int(number) if number else None)
    # kept after checking against some scenario: they must fit this one too
    check_observations([row.__dict__ for row in observed.rows], scenario, f"observations {name}")
    return observed, f"{info.name} version {info.version} (sha256 {info.sha256[:12]})"


def track_and_keep(
    store: RunStore,
    scenario: Scenario,
    observed: ObservationSet,
    label: str,
    name: str,
    particles: int,
    seed: int,
    parameters: Sequence[str] = (),
    processes: int = 1,
    client: Client | None = None,
    keep: bool = True,
    progress: Callable[[float, float | None], None] | None = None,
) -> KeptTracking:
    """Track the operation from the newest stored filter of ``name`` and keep the result.

    Parameters
    ----------
    store : RunStore
        Where filters are found and kept.
    scenario : Scenario
        The operation.
    observed : ObservationSet
        The counts observed so far.
    label : str
        What the counts are (a stored set's name, version and hash, or a file's).
    name : str
        The name filters of these counts are kept under (the set's, or ``file NAME``).
    particles : int
        Lanes of the filter.
    seed : int
        The filter's seed.
    parameters : sequence of str
        The ranged assumptions to track (empty: every one that can vary by lane).
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the lanes instead.
    keep : bool
        Whether to keep the new filter in the store.
    progress : callable, optional
        Called with (days filtered, days observed), from day 0, after each day.

    Returns
    -------
    KeptTracking
        The tracked forecast and its id in the store.

    Raises
    ------
    ValueError
        If a parameter cannot be tracked, or the counts cannot be.
    """
    model = tracked_model(scenario, parameters)
    if keep:
        store.check_writable()
    found = store.latest_filter(model, name, particles, seed)
    tracking = track(
        scenario,
        observed,
        label,
        particles,
        seed,
        parameters,
        found[1] if found else None,
        processes,
        client,
        progress,
    )
    tracking_id = store.add_tracking(tracking, name) if keep else None
    return KeptTracking(tracking, tracking_id, found is not None and tracking.updated_from is None)
