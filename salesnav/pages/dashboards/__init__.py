"""The H5 dashboards (docs/product.md): each level's figures, built in salesnav/handlers/dashboards/, as a
page (views.py); the mini-program gets the same figures as JSON (salesnav/miniprogram_api/dashboards.py).
"""
