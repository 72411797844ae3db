"""``derive check``: read a student's LaTeX answers and judge each claimed derivative.

reader.py finds the claims in a file; grammar.lark and parser.py read each side with a real
grammar (never eval); resolve.py maps the answer's symbols onto the model; world.py holds the
true values at random points (high precision); judge.py compares, diagnoses and searches
single edits; report.py prints the verdicts.
"""
