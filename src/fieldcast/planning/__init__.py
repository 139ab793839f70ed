"""Planning: questions asked of a scenario before or during an operation, answered by running
it and its variants.

- ``checks``: arithmetic checks of a plan, before anything runs (``fieldcast check``);
- ``variants``: the scenario with one resource changed (teams, beds, field days, seats,
  teams per city, tempo), through the scenario's validation like any change;
- ``allocation`` and ``surge``: spreading teams across cities and across days
  (``fieldcast plan``);
- ``requirement``: the least amount of a resource that reaches a goal
  (``fieldcast requirement``);
- ``sensitivity``: which assumptions matter (``fieldcast sensitivity``);
- ``sweep``: what if one value were different (``fieldcast sweep``).

Planning runs scenarios through ``simulation`` and interprets what comes back; the command
line and the reports show its answers and never interpret them again.
"""
