"""The report pages (/reports/...): the team report with its charts and its workbook, and list exports."""
