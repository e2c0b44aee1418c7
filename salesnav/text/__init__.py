"""Reading Chinese as people write and say it: dates, weekdays and numerals (cn_dates.py)."""
