#!/usr/bin/python3
"""Turns a `bazel test` log into the line CI reads: "N passed, N failed".

Counts test cases from each target's JUnit XML (bazel-testlogs/<target>/
test.xml); a target without XML, or one that failed while its XML shows no
failure (a crash, a timeout), counts as one case. A build failure with no
test results counts as one failure. Exits non-zero on any failure.

usage: test_summary.py BAZEL_LOG BAZEL_EXIT_CODE [TESTLOGS_DIR]
                       [BAZEL_LOG BAZEL_EXIT_CODE TESTLOGS_DIR]...
Several runs (the default suite and a sanitizer run, whose test logs are
in another directory) add up to one line.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

LINE = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FLAKY|NO STATUS|FAILED TO BUILD|SKIPPED)\b")


def cases(target, testlogs):
    path = os.path.join(testlogs, target[2:].replace(":", "/"), "test.xml")
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    total = failed = 0
    for tc in root.iter("testcase"):
        if tc.get("status") == "notrun":
            continue
        total += 1
        if tc.find("failure") is not None or tc.find("error") is not None:
            failed += 1
    return total, failed


def count(log, rc, testlogs):
    passed = failed = 0
    with open(log, errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            target, status = m.group(1), m.group(2)
            if status == "SKIPPED":
                continue
            ok = status in ("PASSED", "FLAKY")
            c = cases(target, testlogs) if status != "FAILED TO BUILD" else None
            if c is None or c[0] == 0:
                passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
                continue
            total, bad = c
            if not ok and bad == 0:
                bad = 1
            passed += total - bad
            failed += bad
    if rc != 0 and failed == 0:
        failed = 1  # the build broke before any test ran
    return passed, failed


def main():
    args = sys.argv[1:]
    if len(args) == 2:
        args.append("bazel-testlogs")
    passed = failed = 0
    for i in range(0, len(args) - 2, 3):
        p, f = count(args[i], int(args[i + 1]), args[i + 2])
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
