"""Quick capture in the chat (无感采集): menu, cards, text commands, voice and photos → records.

Each module registers its routes with `salesnav.bot.router.router`; the domain work is done
by `salesnav.handlers`, these modules only translate between chat and use cases.
"""
