#!/usr/bin/env python3
"""Validate event payloads against the event schemas.

Usage: validate.py SCHEMAS_DIR INSTANCES_DIR

Every file in INSTANCES_DIR named `<type>.v<N>.json` or `<type>.v<N><suffix>.json` (suffix starting
with `.`, `-` or `_`) is validated against `SCHEMAS_DIR/<type>.v<N>.schema.json` (JSON Schema draft
2020-12). One line is printed per failure; the exit status is 0 when everything validates, 1 when
anything fails (including a missing schema or an unreadable file) and 2 on usage errors.
"""
import json
import os
import re
import sys

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError:
    print("validate.py: the python3 package 'jsonschema' is required", file=sys.stderr)
    sys.exit(2)

INSTANCE_NAME = re.compile(r"^(?P<type>[a-z_]+(?:\.[a-z_]+)+)\.v(?P<version>[0-9]+)(?:[._-][^/]*)?\.json$")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schemas_dir, instances_dir = argv[1], argv[2]
    if not os.path.isdir(schemas_dir) or not os.path.isdir(instances_dir):
        print(f"validate.py: not a directory: {schemas_dir if not os.path.isdir(schemas_dir) else instances_dir}",
              file=sys.stderr)
        return 2

    failures = 0
    validators = {}
    checked = 0
    for name in sorted(os.listdir(instances_dir)):
        if not name.endswith(".json") or name.endswith(".schema.json"):
            continue
        path = os.path.join(instances_dir, name)
        match = INSTANCE_NAME.match(name)
        if match is None:
            print(f"{path}: name is not <type>.v<N>.json")
            failures += 1
            continue
        key = (match["type"], match["version"])
        if key not in validators:
            schema_path = os.path.join(schemas_dir, f"{key[0]}.v{key[1]}.schema.json")
            try:
                schema = load(schema_path)
                Draft202012Validator.check_schema(schema)
                validators[key] = Draft202012Validator(schema)
            except FileNotFoundError:
                validators[key] = None
            except (ValueError, SchemaError) as error:
                print(f"{schema_path}: invalid schema: {error}")
                validators[key] = None
                failures += 1
        validator = validators[key]
        if validator is None:
            print(f"{path}: no schema {key[0]}.v{key[1]}.schema.json in {schemas_dir}")
            failures += 1
            continue
        try:
            instance = load(path)
        except ValueError as error:
            print(f"{path}: not JSON: {error}")
            failures += 1
            continue
        checked += 1
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path)):
            location = "/" + "/".join(str(part) for part in error.path)
            print(f"{path}: {location}: {error.message}")
            failures += 1

    if checked == 0 and failures == 0:
        print(f"{instances_dir}: no instance files")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
