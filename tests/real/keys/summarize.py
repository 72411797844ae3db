"""Run `derive check --json` on every tests/real/*_claims.md, compare with the torch keys and write
tests/real/SUMMARY.md (the hand-written notes at its top live in NOTES below).

    .venv/bin/python tests/real/keys/summarize.py          # rewrite SUMMARY.md
    .venv/bin/python tests/real/keys/summarize.py --print  # print it instead

derive reports a claim at the line where its display (or its row of an aligned display) starts; the
keys give the line of the claim's left side. Claims are paired by position and text: a derive claim is
matched to the not-yet-matched key row, within the next 25 lines, whose LaTeX is most alike.
"""
from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

REAL = Path(__file__).resolve().parent.parent
ROOT = REAL.parent.parent
DERIVE = ROOT / ".venv" / "bin" / "derive"

SOURCES = [
    ("d2l_bptt", "d2l.ai 2nd ed., §9.7.2 BPTT in detail"),
    ("d2l_bptt_analysis", "d2l.ai 2nd ed., §9.7.1 analysis of gradients"),
    ("d2l_v0_bptt", "d2l.ai pre-1.0, BPTT in detail"),
    ("d2l_v0_bptt_analysis", "d2l.ai pre-1.0, recurrent model (∂_w notation)"),
    ("d2l_backprop", "d2l.ai 2nd ed., §5.3 MLP backprop with weight decay"),
    ("goodfellow_rnn", "Goodfellow et al., Deep Learning §10.2.2 (eqs. 10.17–10.28)"),
    ("cs231n_rnn", "CS231n notes, RNN vanishing-gradient section"),
    ("cs231n_backprop", "CS231n notes, backprop derivation (index level)"),
    ("nielsen_ch2", "Nielsen, NNDL ch. 2 (BP1–BP4 and proofs)"),
    ("willwolf_rnn", "Will Wolf, RNN gradients blog post"),
    ("wildml_bptt", "WildML RNN tutorial part 3 (BPTT)"),
    ("talwar_rnn", "Talwar, RNN from scratch blog post (index level)"),
    ("talwar_lstm", "Talwar, LSTM from scratch blog post (index level)"),
]


def split_claim(s):
    parts = re.split(r"\s*=\s*", s, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (s, "")


def norm(s):
    s = re.sub(r"\\(left|right|Big|big|bigl|bigr|displaystyle|limits)\b", "", s)
    s = s.replace("&", "")
    return re.sub(r"\s+", "", s)


def run_derive(source):
    p = subprocess.run([str(DERIVE), "check", str(REAL / f"{source}_claims.md"), "--json"],
                       capture_output=True, text=True, cwd=REAL)
    if p.stdout.strip():
        return json.loads(p.stdout), p.returncode, p.stderr.strip()
    return None, p.returncode, p.stderr.strip()


def pair(key, claims):
    """key rows -> derive claim (or None). A derive claim goes to the unmatched key row, within its
    next 25 lines, with the same left side and the most alike right side (compared on the length of
    derive's text: derive may keep only the first row of a long chain); ties go to the nearer line."""
    matched = {}
    used = set()
    for c in claims:
        cl, cr = split_claim(c["latex"])
        best, best_i = None, None
        for i, r in enumerate(key):
            if i in used or not (c["line"] - 1 <= r["line"] <= c["line"] + 25):
                continue
            rl, rr = split_claim(r["latex"])
            a, b = norm(cr), norm(rr)
            ratio = difflib.SequenceMatcher(None, a, b[:len(a) + 10]).ratio()
            score = (norm(cl) == norm(rl), round(ratio, 2), -abs(r["line"] - c["line"]))
            if best is None or score > best:
                best, best_i = score, i
        if best_i is not None and best[1] > 0.45:
            used.add(best_i)
            matched[best_i] = c
    return matched


def kind_unread(row, reason):
    """The notation that kept derive from reading a claim, grouped by kind."""
    tex = row["latex"]
    r = reason or ""
    if reason is None:  # derive did not list it as a claim at all
        if row.get("_env") == "eqnarray":
            return "eqnarray environment (Nielsen's displays) not scanned"
        if "\\bbox" in row.get("_display", ""):
            return "\\bbox[...]{...} boxed display not scanned"
        if re.match(r"\s*\\(delta|gamma)", tex):
            return "δ/γ on the left (δ^l_j = ∂C/∂z^l_j, γ = ∂J/∂h): not taken as a claim"
        if tex.lstrip().startswith("(\\nabla"):
            return "(∇_{o} L)_i on the left: not taken as a claim"
        if re.match(r"\s*\\frac\s*\{(?!\s*\\partial)", tex):
            return "fraction without ∂ in the numerator (a typo: \\frac{z_t}{\\partial W}): not taken as a claim"
        disp = row.get("_display", "")
        if "\\begin{aligned}" in disp and len([l for l in disp.splitlines() if "\\begin{aligned}" in l and "\\end{aligned}" in l]):
            return "aligned display written on one line: rows after the first dropped"
        if "\\\\[2ex]" in row.get("_display", ""):
            return "row break \\\\[2ex] in align: the second row's claim is lost"
        return "not found as a claim (other)"
    if "internal error" in r:
        return "derive crashed (internal error) on this model"
    if "prod(" in r:
        return "d2l's prod(·,·) operator"
    if "\\_" in tex or "\\\\\\\\" in row.get("_display", ""):
        return "kramdown-escaped LaTeX (\\_ for _, \\\\\\\\ for \\\\)"
    if re.search(r"\\(V|M)[a-zA-Z]\b", tex) and "not a symbol" in r or "\\Vh^{(\\tau)}" in tex:
        return "book macros (\\Vh, \\MW, ...) / \\nabla_{\\Vh^{(\\tau)}}"
    if "[i,j]" in tex or "_{[" in tex or "[i]" in tex:
        return "index-level claims with [i]/[i,j] entry subscripts"
    if "list of values in parentheses" in r:
        return "a plain letter applied to arguments: l(y_t, o_t), f(x_t, h_{t-1}, w), g(h_t, w)"
    if "∂ on one side only" in r:
        return "fraction with ∂ split or missing: ∂ℓ/(T·∂o_t), ∂z_t/h_{t-1}"
    if "\\mathbf{W^{" in tex or "\\mathbf{J_" in tex or "\\text{labels}" in tex:
        return "\\mathbf with the index inside (\\mathbf{W^{hy}}, \\mathbf{J_t}) or \\text{labels}_t"
    if "partial" in tex and "/" in tex.split("=")[0]:
        return "slash fraction ∂C/∂a^L_j with entry indices"
    if "\\nabla_a" in tex:
        return "∇_a C (∇ with an abbreviated subscript)"
    if "L^{(t)}" in tex or "needs a time index" in r or "has no time index" in r:
        return "per-step loss on the left (∂L/∂L^{(t)}, ∂E_t): time index not placed"
    if "not a symbol of this model" in r:
        return "a name the text defines but the forward pass does not (z_3 = V s_3)"
    if "derivative of or with respect to an expression" in r:
        return "derivative with respect to an expression"
    return "other: " + r[:80]


def annotate(source, key):
    """attach each key row's display text and environment (for the kinds)."""
    lines = (REAL / f"{source}_claims.md").read_text().splitlines()
    for r in key:
        i = r["line"] - 1
        lo = i
        while lo > 0 and not (lines[lo].lstrip().startswith(("$$", "\\begin{", "$")) and (lo < i or "\\begin" in lines[lo] or "$" in lines[lo])):
            lo -= 1
            if i - lo > 30:
                break
        hi = i
        while hi < len(lines) - 1 and lines[hi].strip() and not lines[hi].rstrip().endswith(("$$", "\\end{eqnarray}", "\\end{align}", "$")):
            hi += 1
        disp = "\n".join(lines[lo:hi + 1])
        r["_display"] = disp
        r["_env"] = "eqnarray" if "eqnarray" in disp else ""


NOTES = open(Path(__file__).with_name("summary_notes.md")).read() if Path(__file__).with_name("summary_notes.md").exists() else ""


def main():
    out = []
    totals = Counter()
    kinds = Counter()
    kind_examples = defaultdict(list)
    per_source = []
    for source, title in SOURCES:
        key = json.loads((REAL / f"{source}_key.json").read_text())
        annotate(source, key)
        data, rc, err = run_derive(source)
        claims = data["claims"] if data else []
        m = pair(key, claims)
        n = len(key)
        judged = agree = 0
        dis, unread = [], []
        for i, r in enumerate(key):
            c = m.get(i)
            if c is None:
                reason = err if (data is None and err) else None
                k = kind_unread(r, reason)
                unread.append((r, "(crash) " + err if data is None else "not listed as a claim", k))
                kinds[k] += 1
                kind_examples[k].append(f"{source}:{r['line']}")
                continue
            if c["verdict"] == "unchecked":
                k = kind_unread(r, c["reason"])
                unread.append((r, c["reason"], k))
                kinds[k] += 1
                kind_examples[k].append(f"{source}:{r['line']}")
                continue
            judged += 1
            if c["verdict"] == r["key"]:
                agree += 1
            else:
                dis.append((r, c))
        totals.update(claims=n, listed=len(m), judged=judged, agree=agree, disagree=len(dis),
                      unread=len(unread), crash=int(data is None))
        totals.update(f"key_{r['key']}" for r in key)
        per_source.append((source, title, n, len(m), judged, agree, dis, unread, rc, err if data is None else ""))

    out.append("# tests/real: published gradient claims, keyed with torch, checked by derive\n")
    out.append(NOTES)
    out.append("## Totals\n")
    out.append(f"- sources (claims files): {len(SOURCES)}; claims: {totals['claims']} "
               f"(key: {totals['key_correct']} correct, {totals['key_incorrect']} incorrect, {totals['key_conditional']} conditional)")
    out.append(f"- derive listed {totals['listed']} of them as claims, judged {totals['judged']} "
               f"(correct/incorrect/conditional), agreed with the key on {totals['agree']}, disagreed on {totals['disagree']}; "
               f"{totals['unread']} were unread (unchecked or not taken as claims)\n")
    out.append("| source | claims | listed by derive | judged | agree with key | disagree | unread |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for source, title, n, listed, judged, agree, dis, unread, _rc, _crash in per_source:
        out.append(f"| `{source}` — {title} | {n} | {listed} | {judged} | {agree} | {len(dis)} | {len(unread)} |")
    out.append("")
    out.append("## Unread notations, by kind\n")
    out.append("| kind | claims | where (source:line) |")
    out.append("|---|---:|---|")
    for k, c in kinds.most_common():
        ex = ", ".join(kind_examples[k][:6]) + (" …" if len(kind_examples[k]) > 6 else "")
        out.append(f"| {k} | {c} | {ex} |")
    out.append("")
    out.append("## Per source\n")
    for source, title, n, listed, judged, agree, dis, unread, rc, crash in per_source:
        out.append(f"### `{source}` — {title}\n")
        out.append(f"Files: `{source}.md`, `{source}_claims.md`, `{source}_key.json`, `keys/{source}.py`. "
                   f"{n} claims; derive listed {listed}, judged {judged}, agreed on {agree}. derive exit code {rc}.\n")
        if crash:
            out.append(f"derive crashed on the whole file: `{crash}`\n")
        if dis:
            out.append("Disagreements:\n")
            for r, c in dis:
                out.append(f"- line {r['line']} (derive line {c['line']}): derive **{c['verdict']}** — {c['reason']}; "
                           f"key **{r['key']}** — {r['why']}  \n  `{r['latex'][:160]}`")
            out.append("")
        if unread:
            out.append("Unread:\n")
            for r, reason, k in unread:
                out.append(f"- line {r['line']} [{k}]: {reason}  \n  `{r['latex'][:120]}`")
            out.append("")
    text = "\n".join(out) + "\n"
    if "--print" in sys.argv:
        print(text)
    else:
        (REAL / "SUMMARY.md").write_text(text)
        print(f"wrote SUMMARY.md: {totals['claims']} claims, {totals['judged']} judged, {totals['agree']} agree")


if __name__ == "__main__":
    main()
