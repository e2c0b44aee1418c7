"""The battle pack (今日作战包, docs/product.md, level 3): what each rep should do first today.

- `workdays`: is a day a working day (chinese-calendar: statutory holidays, adjusted working days).
- `snapshot`: loads the data for any number of reps with a fixed number of queries (batch, keyed by rep).
- `ranking`: the 3 most important todos, by a documented score.
- `recommendation`: 1 lead to review, compared with the stage paths of similar won deals.
- `material`: 1 reusable material matched to the rep's current stages and product lines.
- `compose`: the use case — a typed `BattlePack` per rep, channel-agnostic.
"""

from salesnav.handlers.battle_pack.compose import BattlePack, battle_pack_for, compose_packs

__all__ = ["BattlePack", "battle_pack_for", "compose_packs"]
