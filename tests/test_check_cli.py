"""`derive check`: the DESIGN.md contract (JSON shape, exit codes), answer files with front
matter, --claim, and hostile input that must never crash, hang or execute anything."""

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import presets
from derive.check.judge import Checker
from derive.check.reader import Claim, read_answer
from derive.cli import main

CLAIMS = Path(__file__).resolve().parent / "claims"


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_object_has_the_design_shape(capsys):
    code, out, err = run(capsys, "check", str(CLAIMS / "rnn-d2l.md"), "--json")
    assert code == 1 and err == ""  # the file has incorrect claims
    data = json.loads(out)
    assert set(data) == {"model", "claims", "summary"} and data["model"] == "rnn-d2l"
    assert set(data["summary"]) == {"correct", "incorrect", "conditional", "unchecked"}
    lines = []
    for claim in data["claims"]:
        assert set(claim) == {"line", "quantity", "latex", "verdict", "reason", "expected"}
        assert isinstance(claim["line"], int) and claim["verdict"] in data["summary"]
        assert claim["reason"]
        lines.append(claim["line"])
    assert lines == sorted(lines)  # claims in file order
    assert sum(data["summary"].values()) == len(data["claims"])


def test_exit_0_when_nothing_is_incorrect(capsys, tmp_path):
    answer = tmp_path / "a.md"
    answer.write_text("---\nmodel: rnn-softmax\n---\n$$\\frac{\\partial L}{\\partial o_t} = \\hat{y}_t - y_t$$\n")
    code, out, _ = run(capsys, "check", str(answer))
    assert code == 0 and "1 correct" in out


def test_claims_on_the_command_line(capsys):
    code, out, _ = run(capsys, "check", "--model", "rnn-binary", "--claim",
                       r"\frac{\partial \mathcal{L}}{\partial d} = y_{\text{gt}} - y_{\text{pred}}", "--json")
    data = json.loads(out)
    assert code == 1 and data["claims"][0]["verdict"] == "incorrect"
    assert "sign" in data["claims"][0]["reason"] and data["claims"][0]["expected"]


def test_front_matter_notation_and_layout(capsys, tmp_path):
    answer = tmp_path / "a.md"
    answer.write_text("---\nmodel: rnn-softmax\nlayout: numerator\nnotation:\n  M: W\n---\n"
                      "$$\\frac{\\partial h_t}{\\partial h_{t-1}} = \\mathrm{diag}(\\sigma'(a_t)) M$$\n"
                      "$$\\frac{\\partial L}{\\partial h_T} = (\\hat{y}_T - y_T)^T V$$\n")
    code, out, _ = run(capsys, "check", str(answer), "--json")
    verdicts = [c["verdict"] for c in json.loads(out)["claims"]]
    assert code == 0 and verdicts == ["correct", "correct"]


TANH_BIAS = r"$$\frac{\partial L}{\partial b} = \sum_{t=1}^{T} \frac{\partial L}{\partial h_t} \odot (1 - h_t^2)$$" \
    + "\n"


def test_the_files_set_and_the_command_lines_set_choose_the_options(capsys, tmp_path):
    # rnn-softmax's activation is σ unless set: (or --set) says otherwise; the claim is tanh's
    plain, with_set = tmp_path / "plain.md", tmp_path / "tanh.md"
    plain.write_text("---\nmodel: rnn-softmax\n---\n" + TANH_BIAS)
    with_set.write_text("---\nmodel: rnn-softmax\nset: {activation: tanh}\n---\n" + TANH_BIAS)
    assert run(capsys, "check", str(plain))[0] == 1
    assert run(capsys, "check", str(with_set))[0] == 0
    assert run(capsys, "check", str(plain), "--set", "activation=tanh")[0] == 0
    assert run(capsys, "check", str(with_set), "--set", "activation=relu")[0] == 1  # the command line wins
    code, _, err = run(capsys, "check", str(plain), "--set", "activation=cosh")
    assert code == 2 and "activation must be one of" in err


def test_several_files_give_one_json_line_each(capsys, tmp_path):
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    first.write_text("---\nmodel: rnn-softmax\nset: {activation: tanh}\n---\n" + TANH_BIAS)
    second.write_text("---\nmodel: rnn-softmax\n---\n" + TANH_BIAS)
    code, out, _ = run(capsys, "check", str(first), str(second), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["file"] for r in rows] == [str(first), str(second)]
    assert [r["claims"][0]["verdict"] for r in rows] == ["correct", "incorrect"]
    assert all(set(r) == {"file", "model", "claims", "summary"} for r in rows)


def test_layout_option_rejects_the_other_layout(capsys):
    claim = r"\frac{\partial L}{\partial h_T} = (\hat{y}_T - y_T)^T V"
    code, _, _ = run(capsys, "check", "--model", "rnn-softmax", "--layout", "denominator", "--claim", claim)
    assert code == 1


@pytest.mark.parametrize("args, message", [
    (["check"], "give an answer FILE"),
    (["check", "no-such-file.md", "--model", "rnn-softmax"], "no such file"),
    (["check", "--claim", r"\frac{\partial L}{\partial W} = W"], "no model"),
    (["check", "--model", "nope", "--claim", r"\frac{\partial L}{\partial W} = W"], "unknown preset"),
    (["check", "--model", "rnn-softmax", "--claim", "x = 1"], "left side is a derivative"),
    (["check", "--model", "rnn-softmax", "--layout", "diagonal", "--claim", "x"], "--layout"),
])
def test_unusable_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_bad_front_matter_and_binary_files_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nmodel: [unclosed\n---\n$$x$$\n")
    assert run(capsys, "check", str(bad))[0] == 2
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 50)
    code, _, err = run(capsys, "check", str(binary), "--model", "rnn-softmax")
    assert code == 2 and "cannot read" in err


def test_ocr_damage_is_repaired():
    answer = read_answer("$$egin{aligned} rac{\\partial L}{\\partial o_t} &= \\hat{y}_t - y_t \\end{aligned}$$")
    assert len(answer.claims) == 1 and answer.claims[0].rhs == "\\hat{y}_t - y_t"


# ---------------------------------------------------------------------------- hostile input


@pytest.fixture(scope="module")
def checker():
    return Checker(presets.get("rnn-softmax"))


HOSTILE = [
    r"\input{/etc/passwd}",
    "__import__('os').system('touch /tmp/derive-pwned')",
    "x^{99999999}",
    r"W^{99999999}",
    r"\sum_{t=1}^{99999999} h_t",
    "(" * 3000 + "x" + ")" * 3000,
    "{" * 3000 + "x" + "}" * 3000,
    "a" * 100_000,
    r"\frac{" * 500 + "x" + "}{y}" * 500,
    r"\exec{rm -rf /}",
    "\x00\x01\x02",
    r"\prod_{i=1}^{t} \prod_{j=1}^{t} \prod_{k=1}^{t} W",
]


@pytest.mark.parametrize("rhs", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_right_sides_are_unchecked_or_judged_quickly(checker, rhs):
    start = time.monotonic()
    verdict = checker.check(Claim(1, r"\frac{\partial L}{\partial W}", rhs, "…"))
    assert time.monotonic() - start < 10
    assert verdict.verdict in ("unchecked", "incorrect") and verdict.reason
    assert not Path("/tmp/derive-pwned").exists()


TOKENS = list("\\{}()[]^_'+-*/=<>,.| abxyzhtTWUV01239") + [
    r"\frac", r"\partial", r"\sum", r"\prod", r"\odot", r"\sigma", r"\mathbf", r"\left(", r"\right)", r"\cdots",
    "diag", r"\mathbb{I}", "^T", "_{t-1}"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_random_latex_never_crashes(checker, text):
    verdict = checker.check(Claim(1, r"\frac{\partial L}{\partial h_t}", text, text))
    assert verdict.verdict in ("correct", "incorrect", "conditional", "unchecked")


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=400))
def test_random_files_never_crash(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "answer.md"
    path.write_text("---\nmodel: rnn-softmax\n---\n" + text, encoding="utf-8")
    assert main(["check", str(path), "--json"]) in (0, 1, 2)


def test_a_huge_file_is_refused_cleanly(capsys, tmp_path):
    path = tmp_path / "big.md"
    path.write_text("x" * 2_100_000)
    code, _, err = run(capsys, "check", str(path), "--model", "rnn-softmax")
    assert code == 2 and "characters" in err
