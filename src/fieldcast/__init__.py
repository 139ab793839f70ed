"""fieldcast: plan and forecast coordinated multi-city field operations.

The core is three steps: a validated ``Scenario`` -> the engine runs replications ->
``Results`` (and a ``Forecast``, which pairs a run with its no-leak twin) to summarise.

    >>> from fieldcast import load_scenario, run_forecast
    >>> forecast = run_forecast(load_scenario("seed-2019"), replications=100, seed=1)
    >>> forecast.summary()["goal_persons"]
    2040
"""

from fieldcast.catalog import builtin_names, load_scenario
from fieldcast.forecast import Forecast, run_forecast
from fieldcast.results import Results
from fieldcast.scenario import Scenario, ScenarioError, validate_scenario
from fieldcast.simulation import simulate

__all__ = [
    "Forecast",
    "Results",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "load_scenario",
    "run_forecast",
    "simulate",
    "validate_scenario",
]
