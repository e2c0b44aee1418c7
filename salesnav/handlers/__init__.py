"""The use cases, once, channel-agnostic. Chat, API, CLI and jobs call these and only translate.

Every handler takes an open SQLAlchemy session and the acting user, validates its input,
raises a `DomainError` with a Chinese message on refusal, records domain events in the
same transaction, and never commits: the caller's unit of work does.
"""
