"""SalesNav 销售导航仪."""
