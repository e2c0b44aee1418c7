"""The automation rules (docs/product.md): one module per rule, the engine that runs them, setting checks.

A rule has a trigger (a domain event, or time), a condition, and actions (WeCom message,
task, escalation, e-mail, PDF, approval freeze). Its thresholds and its on/off switch are
rule settings (salesnav/handlers/rule_settings.py). Each firing is an `Alert` whose
idempotency key (rule, subject, episode) makes a second firing of the same episode impossible.
"""
