"""unused_imports: drops imports nobody reads (the programs behave the same), keeps every import
something could still reach, and is among the rules backend's candidates."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend
from graph.backends.rules.engine import applicable, apply_rewrites
from graph.prompt import build_messages, extract_code


def run(code: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=60)
    return f"rc={out.returncode}\n{out.stdout}" + (out.stderr.strip().splitlines() or [""])[-1]


def drop(src: str) -> str | None:
    return apply_rewrites(textwrap.dedent(src), ["unused_imports"])


NUMPY_PROGRAM = textwrap.dedent("""
    import sys
    import numpy as np  # left over from an earlier attempt
    from collections import deque

    n = int(sys.stdin.readline())
    total = 0
    for i in range(n):
        total += i
    print(total)
""")


def test_drops_unused_numpy_keeps_sys_and_behaves_the_same() -> None:
    new = apply_rewrites(NUMPY_PROGRAM, ["unused_imports"])
    assert new is not None
    assert "numpy" not in new and "deque" not in new
    assert "import sys\n" in new and "n = int(sys.stdin.readline())\n" in new  # the user's own lines stay
    assert run(new, "10\n") == run(NUMPY_PROGRAM, "10\n") == "rc=0\n45\n"


def test_keeps_only_the_used_names_of_one_statement() -> None:
    src = "from math import sqrt, floor, gcd as g\nprint(floor(2.5))\n"
    new = drop(src)
    assert new is not None
    assert "from math import floor\n" in new and "sqrt" not in new and "gcd" not in new
    assert run(new) == run(src)
    # a package's other names go too, unless one may be a submodule some kept import then reaches
    new = drop("import collections\nfrom collections import deque, Counter\nprint(collections.Counter('aab'))\n")
    assert new is not None and "from collections import" not in new and "import collections\n" in new


def test_function_level_import_and_empty_body() -> None:
    src = textwrap.dedent("""
        def f():
            import heapq
        def g(xs):
            import bisect, itertools
            return bisect.bisect(xs, 2)
        f()
        print(g([1, 2, 3]))
    """)
    new = drop(src)
    assert new is not None
    assert "heapq" not in new and "itertools" not in new and "import bisect" in new
    assert "def f():\n    pass" in new
    assert run(new) == run(src)


@pytest.mark.parametrize("src", [
    "import math\nprint(eval('math.pi'))\n",
    "import math\nexec('print(math.pi)')\n",
    "import math\nprint(len(globals()))\n",
    "import math\ndef f():\n    return locals()\nprint(f())\n",
    "import math\nprint(vars())\n",
    "import math\nm = __import__('math')\n",
    "import math\nimport importlib\nprint(importlib.import_module('math').pi)\n",
    "import math\nimport sys\nprint(sys.modules['math'].pi)\n",
    "from os.path import *\nimport math\nprint(join('a', 'b'))\n",
    "import math\n__all__ = ['x']\n",
    "import math\nprint(eval(input() + '.pi'))\n",  # an eval of more than the line read
    "import math\nprint(eval(input()), eval('math.pi'))\n",  # one data eval does not excuse another
])
def test_dynamic_programs_keep_everything(src: str) -> None:
    assert drop(src) is None


@pytest.mark.parametrize("src", [
    "from __future__ import annotations\nprint(1)\n",
    "import readline\nprint(input())\n",
    "import warnings\nprint(1)\n",
    "import threading, signal, atexit\nprint(1)\n",
    "import this\n",
    "import my_module\nprint(1)\n",  # not stdlib nor a known quiet package: maybe the user's own file
    "from . import helper\nprint(1)\n",
    # used only inside nested scopes
    "import math\ndef f():\n    def g():\n        return math.pi\n    return g()\nprint(f())\n",
    "import math\nprint((lambda: math.e)())\n",
    "import math\nclass C:\n    x = math.tau\nprint(C.x)\n",
    "import math\nprint([math.floor(v) for v in (1.5, 2.5)])\n",
    "import math\ndef f():\n    global math\n    math = 3\nf()\n",
    "import math\ndel math\n",
    "import os.path\nprint(os.sep)\n",
    "import numpy as np\nfrom numpy import linalg\nprint(np.linalg.norm([3, 4]))\n",
    # `import os` is kept, so os.path's import stays too (it may be what loads the submodule)
    "import xml\nfrom xml.etree import ElementTree\nprint(xml.etree.ElementTree.XML('<a/>').tag)\n",
    # only plain top-level statements are touched: conditional imports stay
    "try:\n    import math\nexcept ImportError:\n    pass\nprint(1)\n",
    "if True:\n    import math\nprint(1)\n",
    "class C:\n    import math\nprint(C.math.pi)\n",
])
def test_imports_something_may_rely_on_are_kept(src: str) -> None:
    assert drop(src) is None
    if "my_module" not in src and "from . " not in src:
        assert run(src, "x\n").startswith("rc=0")  # the cases are real programs


def test_offered_by_the_rules_backend() -> None:
    assert "unused_imports" in applicable(NUMPY_PROGRAM)
    backend = get_backend(GenerationConfig(backend="rules", n=4), reuse=False)
    replies = backend.generate(GenerationRequest(messages=build_messages(NUMPY_PROGRAM, []), code=NUMPY_PROGRAM))
    assert any("unused_imports" in r for r in replies)
    codes = [c for c in map(extract_code, replies) if c]
    assert "numpy" not in codes[0]  # the first reply combines every applicable rewrite
    for c in codes:
        assert run(c, "7\n") == run(NUMPY_PROGRAM, "7\n")


def test_eval_of_an_input_line_reads_data_so_unused_imports_still_go() -> None:
    src = textwrap.dedent("""
        import numpy as np
        import sys
        a, b = eval(input().strip())
        n = eval(sys.stdin.readline())
        print(a * b + n)
    """)
    new = drop(src)
    assert new is not None
    assert "numpy" not in new and "import sys" in new
    assert run(new, "(3, 4)\n5\n") == run(src, "(3, 4)\n5\n") == "rc=0\n17\n"
