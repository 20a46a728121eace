"""Harm read model: which bank entries carried wrong content, who read them, what followed.

An entry is **wrong** when
- it was planted by a poisoning experiment (``memory_entries.planted``, ``lts_core.runtime.poison``);
- it is an answer entry whose answer does not match the run's gold answer (any back-end);
- it is a page-read entry whose simulator payload says the fact it yielded is false
  (``steps.detail_json`` -> ``payload``: ``as_target`` set and ``true: false``).

``entry_harm(db, run_ids)`` gives one row per entry (wrong or not) with its readers; ``wrong_reads``
one row per read of a wrong entry with the reader team's final answer; ``run_harm`` one row per run
(wrong entries, reads of them, readers, whether the final answer was wrong / repeated a wrong answer).
``db`` is anything with ``query(sql, params) -> DataFrame`` (a ``Store``). Works on files recorded
before ``planted`` existed. No Streamlit here.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import pandas as pd

from lts_core.scoring import exact_match


class DB(Protocol):
    def query(self, sql: str, params: Any = None) -> pd.DataFrame: ...


ENTRY_COLS = ["run_id", "entry_id", "team_idx", "step_idx", "action", "key", "t_added", "planted",
              "wrong", "why", "content", "reads", "readers"]
READ_COLS = ["run_id", "entry_id", "reader_team", "reader_step", "t", "producer_team", "planted",
             "why", "content", "team_answer", "team_em", "repeated", "gave_final"]


def has_planted(db: DB) -> bool:
    """Whether ``memory_entries`` has the ``planted`` column (files written before it do not, and
    a read-only store cannot add it)."""
    df = db.query("SELECT count(*) AS n FROM information_schema.columns "
                  "WHERE table_name = 'memory_entries' AND column_name = 'planted'")
    return bool(df.n.iloc[0])


def _in(run_ids: list[str]) -> str:
    return ", ".join("?" for _ in run_ids)


def judge(action: str, arg: str | None, payload: dict[str, Any], gold: str | None,
          planted: bool) -> tuple[bool, str, str]:
    """(wrong, why, content) of one entry. ``content`` is the answer it gives or the fact it claims."""
    if action == "answer":
        ans = payload.get("answer") or (arg or "")
        if planted or (gold is not None and not exact_match(ans, [gold])):
            why = "planted wrong answer" if planted else "answer does not match the gold answer"
            return True, why, ans
        return False, "", ans
    if action == "open":
        target, pt = payload.get("as_target"), payload.get("points_to")
        claim = f"{payload.get('title') or arg or ''}" + (f" -> {pt}" if pt else "")
        if planted or (target and payload.get("true") is False):
            why = "planted wrong fact" if planted else "the page's fact was misread (false)"
            return True, why, claim
        return False, "", claim
    if planted:
        return True, "planted", arg or ""
    return False, "", ""


def entry_harm(db: DB, run_ids: list[str]) -> pd.DataFrame:
    """One row per bank entry of ``run_ids``: wrong or not, why, and how often / by whom it was read."""
    if not run_ids:
        return pd.DataFrame(columns=ENTRY_COLS)
    planted = "e.planted" if has_planted(db) else "FALSE"
    df = db.query(
        f"SELECT e.run_id, e.entry_id, e.team_idx, e.step_idx, e.action, e.key, e.value, e.t_added, "
        f"coalesce({planted}, FALSE) AS planted, s.arg, s.detail_json, r.gold FROM memory_entries e "
        f"LEFT JOIN steps s ON s.run_id = e.run_id AND s.team_idx = e.team_idx "
        f"AND s.step_idx = e.step_idx AND e.team_idx >= 0 JOIN runs r ON r.run_id = e.run_id "
        f"WHERE e.run_id IN ({_in(run_ids)}) ORDER BY e.run_id, e.entry_id", list(run_ids))
    reads = db.query(
        f"SELECT run_id, entry_id, reader_team, reader_step FROM memory_reads "
        f"WHERE run_id IN ({_in(run_ids)}) ORDER BY t", list(run_ids))
    by_entry: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for r in reads.itertuples():
        by_entry.setdefault((r.run_id, int(r.entry_id)), []).append((int(r.reader_team),
                                                                     int(r.reader_step)))
    rows = []
    for r in df.itertuples():
        pl = _payload(r.detail_json)
        if bool(r.planted) and r.action == "answer" and not pl:
            pl = {"answer": str(r.value).removeprefix("FINAL ANSWER: ")}
        wrong, why, content = judge(r.action, r.arg if isinstance(r.arg, str) else None, pl,
                                    r.gold, bool(r.planted))
        if bool(r.planted) and not content:  # no step behind it: the key is what it claims
            content = str(r.key)
        readers = by_entry.get((r.run_id, int(r.entry_id)), [])
        rows.append({"run_id": r.run_id, "entry_id": int(r.entry_id), "team_idx": int(r.team_idx),
                     "step_idx": int(r.step_idx), "action": r.action, "key": r.key,
                     "t_added": float(r.t_added), "planted": bool(r.planted), "wrong": wrong,
                     "why": why, "content": content, "reads": len(readers), "readers": readers})
    return pd.DataFrame(rows, columns=ENTRY_COLS)


def _payload(detail_json: Any) -> dict[str, Any]:
    if not isinstance(detail_json, str) or not detail_json:
        return {}
    try:
        d = json.loads(detail_json)
    except ValueError:
        return {}
    pl = d.get("payload") if isinstance(d, dict) else None
    return pl if isinstance(pl, dict) else {}


def wrong_reads(db: DB, run_ids: list[str], entries: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per read of a wrong entry: the reader, its team's final answer, whether that
    answer repeats the entry's wrong answer (``repeated``) and whether it is the run's aggregated
    answer (``gave_final``: the reader voted for what the run answered)."""
    ent = entry_harm(db, run_ids) if entries is None else entries
    bad = ent[ent.wrong]
    if bad.empty:
        return pd.DataFrame(columns=READ_COLS)
    teams = db.query(f"SELECT run_id, team_idx, answer, em FROM teams WHERE run_id IN "
                     f"({_in(run_ids)})", list(run_ids)).set_index(["run_id", "team_idx"])
    reads = db.query(f"SELECT run_id, entry_id, reader_team, reader_step, t FROM memory_reads "
                     f"WHERE run_id IN ({_in(run_ids)}) ORDER BY t", list(run_ids))
    finals = dict(db.query(f"SELECT run_id, answer FROM runs WHERE run_id IN ({_in(run_ids)})",
                           list(run_ids)).itertuples(index=False))
    info = bad.set_index(["run_id", "entry_id"])
    rows = []
    for r in reads.itertuples():
        key = (r.run_id, int(r.entry_id))
        if key not in info.index:
            continue
        e = info.loc[key]
        tkey = (r.run_id, int(r.reader_team))
        ans = teams.answer.get(tkey) if tkey in teams.index else None
        em = teams.em.get(tkey) if tkey in teams.index else None
        ans = ans if isinstance(ans, str) else None
        rep = bool(e.action == "answer" and ans and exact_match(ans, [e.content]))
        final = finals.get(r.run_id)
        gave = bool(ans and isinstance(final, str) and final and exact_match(ans, [final]))
        rows.append({"run_id": r.run_id, "entry_id": key[1], "reader_team": int(r.reader_team),
                     "reader_step": int(r.reader_step), "t": float(r.t),
                     "producer_team": int(e.team_idx), "planted": bool(e.planted), "why": e.why,
                     "content": e.content, "team_answer": ans,
                     "team_em": None if em is None or pd.isna(em) else float(em), "repeated": rep,
                     "gave_final": gave})
    return pd.DataFrame(rows, columns=READ_COLS)


def run_harm(db: DB, run_ids: list[str]) -> pd.DataFrame:
    """Per run: wrong and planted entries, reads of them (all and of planted ones), reader teams,
    teams whose answer repeated a wrong answer entry, and the run's final answer / EM."""
    cols = ["run_id", "wrong_entries", "planted_entries", "wrong_reads", "planted_reads",
            "readers", "repeated", "answer", "em", "final_repeats_wrong"]
    if not run_ids:
        return pd.DataFrame(columns=cols)
    ent = entry_harm(db, run_ids)
    rd = wrong_reads(db, run_ids, ent)
    runs = db.query(f"SELECT run_id, answer, em FROM runs WHERE run_id IN ({_in(run_ids)})",
                    list(run_ids))
    rows = []
    for r in runs.itertuples():
        e = ent[ent.run_id == r.run_id]
        w = rd[rd.run_id == r.run_id]
        wrong_answers = e[e.wrong & (e.action == "answer")].content.tolist()
        read_answers = set(w[w.entry_id.isin(e[e.action == "answer"].entry_id)].content)
        ans = r.answer if isinstance(r.answer, str) else None
        rows.append({"run_id": r.run_id, "wrong_entries": int(e.wrong.sum()),
                     "planted_entries": int(e.planted.sum()), "wrong_reads": len(w),
                     "planted_reads": int(w.planted.sum()) if len(w) else 0,
                     "readers": len(set(w.reader_team)), "repeated": int(w.repeated.sum()),
                     "answer": ans, "em": None if pd.isna(r.em) else float(r.em),
                     "final_repeats_wrong": bool(ans and any(exact_match(ans, [a]) for a in
                                                             wrong_answers if a in read_answers))})
    return pd.DataFrame(rows, columns=cols)
