"""What a policy admits, by the step's kind: from the runs recorded in a DuckDB file.

    .venv/bin/python benchmarks/admit_by_kind.py RUNS.duckdb [--where "r.policy = 'learned'"]

Prints, per policy, K and threshold, for each kind (plan, search, open, answer): the decisions, the
share admitted, the mean score (P(YES) for learned) and the kind's share of all admitted entries.
Read-only; any back-end.
"""

from __future__ import annotations

import argparse

import duckdb

QUERY = """
WITH k AS (
  SELECT r.policy, r.teams AS K, a.threshold, s.action AS kind, count(*) AS decisions,
         avg(a.admitted::INT) AS admitted, sum(a.admitted::INT) AS n_admitted,
         avg(a.score) AS mean_score
  FROM admissions a JOIN runs r USING (run_id) JOIN steps s USING (run_id, team_idx, step_idx)
  WHERE {where}
  GROUP BY ALL)
SELECT policy, K, threshold, kind, decisions, round(admitted, 3) AS admitted,
       round(mean_score, 3) AS mean_score,
       round(n_admitted / sum(n_admitted) OVER (PARTITION BY policy, K, threshold), 3)
         AS share_of_entries
FROM k ORDER BY 1, 2, 3, 4
"""

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db")
    ap.add_argument("--where", default="TRUE", help="SQL condition on runs r, admissions a, steps s")
    a = ap.parse_args()
    con = duckdb.connect(a.db, read_only=True)
    df = con.sql(QUERY.format(where=a.where)).df()
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
