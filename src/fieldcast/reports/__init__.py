"""Reports: what a run, a plan, a calibration or a tracked forecast says, shown in the
terminal (``terminal``), as a self-contained HTML page (``html``) with its charts
(``charts``), and side by side (``comparison``). Reports show figures computed by the library;
they compute none of their own beyond formatting.
"""
