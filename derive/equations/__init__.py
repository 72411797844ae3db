"""Networks from their forward equations: a model file (``problem.md``, ``.tex``, ``.yaml``) whose
``forward:`` holds the equations in LaTeX, read into a ``Network`` in the problem's own notation.

    modelfile.py   the file: front matter, bounded; equations written in an answer file
    text.py        one equation's text: the strict declaration dialect, on the checker's grammar
    symbols.py     a written symbol: its name, its spelling, its time index
    losses.py      the canonical losses, found in a tree
    trees.py       walking the trees: a symbol's reading, what scales
    shapes.py      shapes by unification, open sizes named
    declare.py     what every symbol is, its shape, the objective (DESIGN.md's reading rules)
    build.py       the declaration -> a Network, through the public declaration API
"""
