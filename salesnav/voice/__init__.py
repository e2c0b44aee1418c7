"""Speech → text: an engine interface with a cloud (Baidu AIP) and an offline engine."""
