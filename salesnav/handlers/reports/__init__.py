"""Reports that write themselves: the rep's daily report (daily.py), the team reports for managers and the
director (team.py), and the list of records missing what makes them count (chase.py)."""
