#!/usr/bin/env python3
"""Prints one field of a JSON report, for the shell tests:

    json_field.py FILE PATH

PATH is the field's keys and list indexes joined by dots (runs.0.launched,
runs.1.failed.corrupt); a last part "+" prints the sum of an object's or a
list's values (runs.0.failed.+: every failure category), "#" their count
(runs.#).  Numbers and strings print as they are, null as an empty line,
true/false in lower case, objects and lists as JSON.  A field that is not
there is an error (exit 1, the path on stderr), so a test comparing the
output never passes on a missing field.
"""
import json
import sys


def lookup(doc, path):
    for part in path.split("."):
        if part in ("+", "#") and isinstance(doc, (dict, list)):
            values = list(doc.values()) if isinstance(doc, dict) else doc
            doc = sum(values) if part == "+" else len(values)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: json_field.py FILE PATH")
    try:
        with open(sys.argv[1]) as f:
            value = lookup(json.load(f), sys.argv[2])
    except (OSError, ValueError) as e:
        sys.exit("json_field.py: %s: %s" % (sys.argv[1], e))
    except KeyError as e:
        sys.exit("json_field.py: %s has no %s (at %s)" % (sys.argv[1], sys.argv[2], e))
    if value is None:
        print()
    elif isinstance(value, bool):
        print("true" if value else "false")
    elif isinstance(value, (dict, list)):
        print(json.dumps(value))
    else:
        print(value)


main()
