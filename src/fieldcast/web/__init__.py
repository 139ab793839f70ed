"""The web dashboard (``fieldcast serve``): ``app`` (pages and API), ``security`` (who may use
it), ``templates`` and ``static`` (vendored assets)."""
