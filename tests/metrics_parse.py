#!/usr/bin/env python3
"""Parses a Prometheus text exposition on stdin with the reference parser
(Debian's python3-prometheus-client) and prints it as JSON:
{"types": {family: type}, "samples": {"name{k="v",...}": value}}, labels
sorted by name. tests/metrics_test.cc checks ktlog's /metrics through it, so
that what the test reads is what Prometheus reads; a line the parser
refuses fails the run (exit 1, the parser's message on stderr)."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    types, samples = {}, {}
    for family in text_string_to_metric_families(sys.stdin.read()):
        types[family.name] = family.type
        for s in family.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            key = s.name + ("{%s}" % labels if labels else "")
            if key in samples:
                sys.exit("sample %s appears twice" % key)
            samples[key] = None if math.isnan(s.value) else s.value
    json.dump({"types": types, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
