"""Excel one-click migration (Excel 一键迁移): a rep's old spreadsheet becomes customers, touchpoints and deals.

reading (bytes → rows, with the limits) → header (which row is the header, which rows are data)
→ columns (what each column holds) → dates / remarks / matching (what each row means)
→ plan (the preview the user corrects) → commit (writes through the handlers, as a recorded batch) → undo.
"""
