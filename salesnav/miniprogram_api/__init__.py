"""The WeCom mini-program's REST API (/api/v1): auth, the three forms, uploads, QR codes, voice, OCR."""
