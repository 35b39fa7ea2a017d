#!/usr/bin/python3
"""Lists C++ functions longer than a limit (default 80 lines).

A function is a definition that starts at column 0 (or two spaces in a
class body) and ends at the matching '}' at the same indentation. Crude,
but enough for this code base, which clang-format keeps regular.

usage: long_functions.py [--limit N] FILE...
"""
import re
import sys


def functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    start = None
    indent = None
    name = None
    for i, line in enumerate(lines):
        if start is None:
            m = re.match(r"^( {0,2})[A-Za-z_].*\)\s*(const\s*)?(override\s*)?(final\s*)?\{\s*$", line)
            if m and not re.match(r"^\s*(if|for|while|switch|namespace|class|struct|else)\b", line):
                start, indent = i, m.group(1)
                name = line.strip()
            elif re.match(r"^( {0,2})[A-Za-z_].*[(,]\s*$", line) and not line.strip().startswith(("//", "#")):
                # A signature spread over several lines: find its '{'.
                j = i
                while j < len(lines) and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                    j += 1
                if j < len(lines) and lines[j].rstrip().endswith("{") and "=" not in lines[i].split("(")[0]:
                    ind = re.match(r"^( *)", line).group(1)
                    if len(ind) <= 2 and not re.match(r"^\s*(if|for|while|switch|namespace|class|struct|return)\b", line):
                        start, indent, name = i, ind, line.strip()
        elif line == indent + "}" or line.startswith(indent + "}") and line.strip() in ("}", "};"):
            yield name, start + 1, i - start + 1
            start = None


def main():
    args = sys.argv[1:]
    limit = 80
    if args[:1] == ["--limit"]:
        limit, args = int(args[1]), args[2:]
    bad = 0
    for path in args:
        for name, line, n in functions(path):
            if n > limit:
                print("%s:%d: %d lines: %s" % (path, line, n, name[:70]))
                bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
