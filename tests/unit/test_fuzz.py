"""A few hundred corrupted stacks of every format (``make fuzz`` runs 1,000+): no traceback,
no hang, every error one line naming a file, nothing implausible written, no user file lost."""

from __future__ import annotations

from sbas_selector.tests.fuzz.harness import run_many, summarise

#: Seeded: the same stacks every run. 200 cases take 30-45 s on 2 cores.
CASES, SEED = 200, 20261201


def test_corrupted_stacks(tmp_path):
    results = run_many(CASES, SEED, workers=2, work=tmp_path)
    summary = summarise(results)
    failures = "\n".join(f"case {r['case']} ({r['format']}) {r['mutations']}: {r['problems']}"
                         for r in summary["failures"][:10])
    assert summary["failed"] == 0, failures
    assert summary["cases"] == CASES
    # Every format still opens despite some corruptions; some stacks are refused in one line
    # (a multi-file HyP3 stack rarely is: a damaged product is skipped, the rest opens).
    assert all(counts["opened"] > 0 for counts in summary["by_format"].values())
    assert sum(c["one_line_error"] for c in summary["by_format"].values()) > CASES // 10
