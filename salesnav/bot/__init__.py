"""The WeCom channel: callbacks in, messages out (outbox, client), and the local WeCom emulator."""
