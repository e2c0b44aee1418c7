"""The dashboards' figures and who may see them (docs/product.md): Level 1 executives, Level 2 managers,
Level 3 reps, marketing.

Each level's figures are built once here (executive.py, battle_map.py, rep_day.py, leaderboard.py) from
the metrics and rendered by every channel: the pages (salesnav/pages/dashboards/views.py), the mini-program
API (salesnav/miniprogram_api/dashboards.py) and the clock's refresh (salesnav/jobs/dashboards.py).
Who may see which level: access.py.
"""
