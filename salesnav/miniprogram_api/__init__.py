"""The WeCom mini-program's REST API (/api/v1): auth, the three forms, uploads, QR codes, voice, OCR.

The blueprint is in blueprint.py, the endpoints in one module each, and mount.py mounts them all on the app.
"""
