"""Image → text and fields (invoices): an engine interface with a cloud (Baidu AIP) and an offline engine."""
