"""Issue 20's fuzzers, briefly (bench/fuzz.py runs them at length): answer files mutated from the
real ones and claims grown from a grammar give a clear refusal or verdicts — never a crash,
never an internal error dressed as `unchecked`, never a file past its time budget."""

from __future__ import annotations

from fuzzing import grammar_run, mutation_run


def test_mutated_answer_files(tmp_path):
    report = mutation_run(120, tmp_path, seed=20)
    assert report.crashes == [] and report.masked == [] and report.slow == []
    assert report.verdicts > 500 and report.refused < report.runs  # most files still check


def test_grammar_claims():
    report = grammar_run(300, seed=20)
    assert report.crashes == [] and report.masked == [] and report.slow == []
    assert report.verdicts >= 295
