"""Networks from their forward equations: a model file (``problem.md``, ``.tex``, ``.yaml``) whose
``forward:`` holds the equations in LaTeX, read into a ``Network`` in the problem's own notation.

    modelfile.py   the file: front matter (or the display equations), bounded
    text.py        one equation's text: the strict declaration dialect, on the checker's grammar
    symbols.py     a written symbol: its name, its spelling, its time index
    shapes.py      shapes by unification, open sizes named
    declare.py     the equations -> a Network (reading rules of DESIGN.md, the canonical losses)
"""
