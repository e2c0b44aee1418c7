"""Journey tests run the real app with its WeCom emulator and an SMTP server (the rules' fixtures)."""

from tests.rules.conftest import app, mailbox, start_app  # noqa: F401  # fixtures shared with the rule tests
