"""The ports: what the use cases and jobs need from the outside world, said in the domain's words.

A use case records *what* is to be said *to whom* (`notifications`), or asks for the members and
departments of the company (`directory`); which channel carries it is decided by the adapters that
each process registers at start (`salesnav.adapters.register_adapters`). Nothing here imports a
channel: the chat bot, the pages and the mini-program API sit above and plug in.
"""
