"""The admin config page's use cases: org sync and 客户交接, stages and checklists, rule
thresholds with a preview, dashboard settings, the materials library and the delivery log.

Every function takes the acting admin (a `User` with the admin role, checked by `require_admin`)
and records what it changed in the audit trail (who, when, before, after). Channels only translate.
"""
