"""Builders on small fixtures: loaders for each format, diffs, summarizers, resume, harness-measured rates."""

from __future__ import annotations

import json

import pytest

from harness.errors import FasterPyError
from kb.builders import sources
from kb.builders.build import build, open_or_create
from kb.builders.pairs import Pair, unified_diff
from kb.builders.summarize import LLMSummarizer, OfflineSummarizer, clean_summary, describe_changes, get_summarizer
from kb.store import KnowledgeBase


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_pie_loader_rates_and_tests(tmp_path):
    tests = tmp_path / "tests" / "p1"
    tests.mkdir(parents=True)
    (tests / "input.0.txt").write_text("3\n")
    (tests / "output.0.txt").write_text("6\n")
    f = _jsonl(tmp_path / "pie.jsonl", [
        {"problem_id": "p1", "slow_code": "a", "reference_code": "b", "cpu_time_v0": 300, "cpu_time_v1": 100},
        {"problem_id": "p1", "code_v0": "c", "code_v1": "d"},
    ])
    pairs = list(sources.load_pie(f, tests_dir=tmp_path / "tests", source="pie-x"))
    assert pairs[0].rate == pytest.approx(3.0) and pairs[1].rate is None
    assert pairs[1].slow == "c" and pairs[0].tests == [("3\n", "6\n")] and pairs[0].key == "pie-x:0"
    bad = _jsonl(tmp_path / "bad.jsonl", [{"problem_id": "p"}])
    with pytest.raises(FasterPyError, match="PIE format"):
        list(sources.load_pie(bad))
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(FasterPyError, match="not valid JSON"):
        list(sources.load_pie(tmp_path / "broken.jsonl"))


def test_mercury_pairs_and_solution_sets(tmp_path):
    pairs_file = _jsonl(tmp_path / "m.jsonl", [
        {"task": "t1", "slow_code": "s", "fast_code": "f", "rate": "2.5"},
        {"task": "t1", "slow_code": "s2", "fast_code": "f", "rate": "1.1"},
    ])
    got = list(sources.load_mercury(pairs_file, min_rate=1.5))
    assert [(p.problem_id, p.rate) for p in got] == [("t1", 2.5)]
    sets = _jsonl(tmp_path / "sets.jsonl", [{"task": "t2", "solutions": [
        {"code": "slowest", "runtime": 0.9}, {"code": "fastest", "runtime": 0.3}, {"code": "mid", "runtime": 0.6}]}])
    got = list(sources.load_mercury(sets))
    assert [(p.slow, p.fast, round(p.rate, 2)) for p in got] == [("mid", "fastest", 2.0), ("slowest", "fastest", 3.0)]


def test_enamel_energy_and_plain_loaders(tmp_path):
    (tmp_path / "humaneval-canonical.json").write_text(json.dumps(["def f(x):\n    return sum(range(x))\n", "same"]))
    (tmp_path / "enamel-references.json").write_text(json.dumps(["def f(x):\n    return x * (x - 1) // 2\n", "same"]))
    (tmp_path / "enamel.csv").write_text(
        "task_id,prompt,input_generator,input_levels,reference_solution,checker,entry_point\n"
        'HumanEval/0,p,"def generate_input(size, lid, cid):\n    return (size,)",10 20,r,c,f\n'
        "HumanEval/1,p,g,1,r,c,g\n")
    en = list(sources.load_enamel(tmp_path))
    assert len(en) == 1 and en[0].problem_id == "HumanEval/0" and en[0].meta["entry_point"] == "f"
    energy = _jsonl(tmp_path / "e.jsonl", [
        {"problem_id": "p9", "unique_index": "7", "slow_code": "a", "fast_code": "b",
         "inefficiency_summary": "Code A  reads input slowly.", "Final_Agreement": 1},
        {"problem_id": "p9", "unique_index": "8", "slow_code": "a", "fast_code": "b",
         "inefficiency_summary": "rejected", "Final_Agreement": 0},
    ])
    got = list(sources.load_energy_smells(energy, tests={"p9": [("1", "1")]}))
    assert got[0].summary == "Code A reads input slowly." and got[0].summarizer == "human-validated-llm"
    assert got[1].summary == "" and got[0].tests == [("1", "1")] and got[0].key == "energy-smells:7"
    plain = _jsonl(tmp_path / "p.jsonl", [{"input": "x", "target": "y", "rate": 2, "tests": [{"input": "1", "output": "2"}]}])
    p = list(sources.load_plain(plain))[0]
    assert (p.slow, p.fast, p.rate, p.tests) == ("x", "y", 2.0, [("1", "2")])


CASES = [
    ("n = int(input())\nfor _ in range(n):\n    x = input()\n",
     "import sys\nn = int(sys.stdin.readline())\nfor _ in range(n):\n    x = sys.stdin.readline()\n",
     "sys.stdin"),
    ("a = [1, 2, 3]\nfor q in qs:\n    if q in a:\n        print(q)\n",
     "a = set([1, 2, 3])\nfor q in qs:\n    if q in a:\n        print(q)\n", "set for membership"),
    ("s = ''\nfor w in words:\n    s += str(w)\n", "s = ''.join(str(w) for w in words)\n", "join"),
    ("def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
     "from functools import lru_cache\n@lru_cache(None)\ndef fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
     "Memoize"),
    ("c = 0\nfor i in range(n):\n    for j in range(n):\n        if a[i] + a[j] == k:\n            c += 1\n",
     "from collections import Counter\ncnt = Counter(a)\nc = sum(cnt[k - x] for x in a)\n", "loop nesting"),
    ("import numpy as np\nprint(np.sum([1, 2]))\n", "print(sum([1, 2]))\n", "numpy"),
    ("out = []\nfor x in xs:\n    out.append(x * 2)\n", "out = [x * 2 for x in xs]\n", "comprehension"),
]


@pytest.mark.parametrize("slow, fast, expected", CASES)
def test_offline_summarizer_detects_changes(slow, fast, expected):
    text = OfflineSummarizer().summarize(slow, fast)
    assert text.startswith("1. ") and expected.lower() in text.lower()
    assert len(describe_changes(slow, fast)) <= 2


def test_offline_summary_format_and_fallback():
    text = OfflineSummarizer().summarize("print(1)\nprint(2)\n", "print(1)\nprint(3)\n")
    assert text.startswith("1. ") and ";" not in text
    two = OfflineSummarizer().summarize(CASES[4][0].replace("for i", "n = int(input())\nfor i"), CASES[4][1].replace("from", "import sys\nn = int(sys.stdin.readline())\nfrom"))
    assert two.startswith("1. ") and "; 2. " in two


def test_llm_summarizer_uses_the_paper_prompt():
    seen = []

    def model(messages: list[dict[str, str]]) -> str:
        seen.append(messages[0]["content"])
        return "Sure! Here it is:\n1. Uses a set for lookups;\n2. Reads input once."

    s = LLMSummarizer(model)
    assert s.summarize("a = [1]\n", "a = {1}\n") == "1. Uses a set for lookups; 2. Reads input once."
    assert seen[0].startswith("You are an expert in the field of code execution efficiency optimization.")
    assert unified_diff("a = [1]\n", "a = {1}\n") in seen[0] and "Provide up to two key points" in seen[0]
    assert clean_summary("```x```1. a;\n 2. b") == "1. a; 2. b"


def test_summarizers_come_from_the_registry(plugin_dist):
    assert isinstance(get_summarizer("offline"), OfflineSummarizer)
    with pytest.raises(FasterPyError, match="llm summarizer needs a generation backend"):
        get_summarizer("llm")
    with pytest.raises(FasterPyError, match="unknown summarizer 'nope' — choose one of: .*llm.*offline"):
        get_summarizer("nope")
    plugin_dist({"fasterpy.summarizers": {"shout": "fasterpy_shout_summarizer:Shout"}},
                {"fasterpy_shout_summarizer": "class Shout:\n    name = 'shout'\n\n"
                                               "    def summarize(self, slow, fast):\n        return '1. LOUDER'\n"})
    assert get_summarizer("shout").summarize("a", "b") == "1. LOUDER"


def test_build_resumes_and_skips_low_rates(tmp_path):
    pairs = [Pair(key=f"k{i}", slow=f"x = {i}\nfor a in range({i}):\n    print(a)\n", fast=f"print({i})\n",
                  rate=1.0 + i, problem_id=f"p{i}", source="t") for i in range(5)]
    kb = open_or_create(tmp_path / "kb", "lexical-256")
    r1 = build(kb, pairs[:3], progress=False, min_rate=1.5)
    assert r1.added == 2 and r1.skipped_low_rate == 1
    kb.close()
    kb = open_or_create(tmp_path / "kb", None)  # reopen: resume with all pairs
    r2 = build(kb, pairs, progress=True, min_rate=1.5)
    assert r2.added == 2 and r2.skipped_existing == 2 and r2.skipped_low_rate == 1
    assert len(KnowledgeBase.open(tmp_path / "kb")) == 4
    assert {r.meta["summarizer"] for r in KnowledgeBase.open(tmp_path / "kb").records()} == {"offline"}


SLOW_PROG = "n = int(input())\ns = 0\nfor i in range(n):\n    s += i\nprint(s)\n"
FAST_PROG = "n = int(input())\nprint(n * (n - 1) // 2)\n"


def test_rates_measured_with_the_harness(tmp_path):
    from kb.builders.measure import HarnessMeasurer

    tests = [("300000\n", f"{300000 * 299999 // 2}\n"), ("200000\n", f"{200000 * 199999 // 2}\n")]
    good = Pair(key="m1", slow=SLOW_PROG, fast=FAST_PROG, rate=None, problem_id="sum", source="user", tests=tests)
    wrong = Pair(key="m2", slow=SLOW_PROG, fast="print(0)\n", rate=None, problem_id="sum", source="user", tests=tests)
    untested = Pair(key="m3", slow=SLOW_PROG, fast=FAST_PROG, rate=None, source="user")
    kb = open_or_create(tmp_path / "kb", "lexical-256")
    with HarnessMeasurer(timeout_s=10, workers=1) as meas:
        report = build(kb, [good, wrong, untested], measure=meas, progress=False)
        assert report.added == 1 and report.measured == 1 and report.skipped_unmeasured == 2
        assert meas.failures["m2"] == "fast program failed its tests"
        assert meas.failures["m3"] == "no tests to measure with"
    rec = kb.records()[0]
    assert rec.rate > 5 and rec.meta["rate_measured"] is True


def test_enamel_style_function_rate(tmp_path):
    from kb.builders.measure import HarnessMeasurer

    gen = "def generate_input(size, lid, cid):\n    return (size * 200,)\n"
    pair = Pair(key="e1", slow="def f(x):\n    t = 0\n    for i in range(x):\n        t += i\n    return t\n",
                fast="def f(x):\n    return x * (x - 1) // 2\n", rate=None, problem_id="HumanEval/x", source="enamel",
                meta={"entry_point": "f", "input_generator": gen, "input_levels": "100 1000"})
    with HarnessMeasurer(timeout_s=10, workers=1) as meas:
        rate = meas(pair)
    assert rate is not None and rate > 5, meas.failures


FLOAT_SLOW = "def f(x):\n    t = 0.0\n    for _ in range(x):\n        t += 0.1\n    return t\n"


def _float_pair(key: str, fast: str) -> Pair:
    gen = "def generate_input(size, lid, cid):\n    return (size * 200,)\n"
    return Pair(key=key, slow=FLOAT_SLOW, fast=fast, rate=None, problem_id="HumanEval/y", source="enamel",
                meta={"entry_point": "f", "input_generator": gen, "input_levels": "100 1000"})


def test_function_pair_results_equal_within_float_tolerance_are_correct():
    from kb.builders.measure import HarnessMeasurer

    fast = "def f(x):\n    return x * 0.1\n"
    ns: dict = {}
    exec(FLOAT_SLOW, ns)
    assert all(ns["f"](n) != n * 0.1 for n in (20000, 200000))  # plain != would reject this pair
    with HarnessMeasurer(timeout_s=10, workers=1) as meas:
        rate = meas(_float_pair("t1", fast))
    assert rate is not None and rate > 5, meas.failures


def test_function_pair_with_a_truly_different_result_is_rejected():
    from kb.builders.measure import HarnessMeasurer

    with HarnessMeasurer(timeout_s=10, workers=1) as meas:
        rate = meas(_float_pair("t2", "def f(x):\n    return x * 0.1 + 1e-3\n"))
    assert rate is None and meas.failures["t2"] == "results differ or a call failed"


def test_llm_summarizer_through_the_openai_backend_and_a_local_server(tmp_path):
    """The paper's summary prompt travels through graph.backends' OpenAI-compatible backend to a real
    local HTTP server; the reply is cleaned into the "1. …; 2. …" form and stored by a build."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from graph.backends.base import GenerationConfig
    from graph.backends.registry import get_backend

    prompts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompts.append(body["messages"][-1]["content"])
            reply = {"choices": [{"index": 0, "message": {"role": "assistant",
                                                          "content": "Key points:\n1. Uses a set for membership;\n2. Reads input once."}}]}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        backend = get_backend(GenerationConfig(backend="openai", model="any",
                                               base_url=f"http://127.0.0.1:{server.server_port}/v1"), reuse=False)
        summ = get_summarizer("llm", backend)
        kb = open_or_create(tmp_path / "kb", "lexical-256")
        pair = Pair(key="l1", slow="a = [1, 2]\nprint(2 in a)\n", fast="a = {1, 2}\nprint(2 in a)\n", rate=2.0)
        build(kb, [pair], summarizer=summ, progress=False)
    finally:
        server.shutdown()
    rec = kb.records()[0]
    assert rec.summary == "1. Uses a set for membership; 2. Reads input once." and rec.meta["summarizer"] == "llm"
    assert prompts and "-a = [1, 2]" in prompts[0] and "+a = {1, 2}" in prompts[0]
    assert prompts[0].startswith("You are an expert in the field of code execution efficiency optimization.")


def test_measurement_cache_and_cached_only(tmp_path):
    from kb.builders.measure import LazyMeasurer

    tests = [("200000\n", f"{200000 * 199999 // 2}\n")]
    pair = Pair(key="c1", slow=SLOW_PROG, fast=FAST_PROG, rate=None, problem_id="sum", tests=tests)
    other = Pair(key="c2", slow=SLOW_PROG, fast=FAST_PROG + "\n# changed\n", rate=None, tests=tests)
    cache = tmp_path / "m.jsonl"
    first = LazyMeasurer(cache=cache, timeout_s=10, workers=1)
    rate = first(pair)
    first.close()
    row = json.loads(cache.read_text())
    assert rate and rate > 2 and row["key"] == "c1"
    assert 1.05 <= row["low"] <= rate  # the bootstrap bound it was accepted on, beside the rate
    again = LazyMeasurer(cache=cache, cached_only=True)
    assert again(pair) == rate  # from the cache, no pool started
    assert again._m is None
    assert again(other) is None and again.failures["c2"] == "not in the measurement cache"
