"""The H5 dashboards (docs/product.md): Level 1 executives, Level 2 managers, Level 3 reps, marketing.

Each level's figures are built once (executive.py, battle_map.py, rep_day.py, leaderboard.py) from the
metrics module and rendered twice: as a page (views.py) and as JSON for the mini-program
(salesnav/miniprogram_api/dashboards.py). Who may see which level: access.py.
"""
