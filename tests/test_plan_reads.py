"""What the module planner reads off a line's statements (liveness, frees, helpers): Python's
parser, so that an attribute, a keyword or a string is never taken for a variable."""

from __future__ import annotations

from derive.codegen.lines import Line, calls_in, names_in, names_of, subscripts_in


def test_attributes_keywords_and_strings_are_not_variables():
    code = 'np.multiply(T.T, h[t - 1], out=buffers[0]) if "h_0" in inputs else o.sum(axis=0)'
    assert names_in(code) == {"np", "T", "h", "t", "buffers", "inputs", "o"}
    assert "out" not in names_in(code) and "h_0" not in names_in(code) and "sum" not in names_in(code)


def test_a_line_names_its_code_and_every_statement():
    line = Line("a", "x @ W.T", "a = W x", statements=("a = np.dot(x, W.T)", "a += b_in[t - 1]"))
    assert line.names == {"a", "np", "x", "W", "b_in", "t"}
    assert names_of([line, Line("c", "softmax_(a)", "")]) == {"a", "np", "x", "W", "b_in", "t", "softmax_"}


def test_calls_are_plain_names_only():
    assert calls_in("_sigmoid(np.tanh(a), out=_empty(buffers, 0, (T, B, n), dtype))") == {"_sigmoid", "_empty"}


def test_subscripts_say_which_entries_a_statement_reads():
    assert subscripts_in("np.multiply(g[t - 1], dL_dh, out=d[t - 1])", "g") == {"[t - 1]"}
    assert subscripts_in("g[-1] * g", "g") == {"[-1]", ""}
    assert subscripts_in("gg[0] + g_h", "g") == set()
