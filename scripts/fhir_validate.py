#!/usr/bin/env python3
"""Validates FHIR R4 (4.0.1) JSON files against the specification's models (fhir.resources).

Usage: tools/py/bin/python scripts/fhir_validate.py FILE...   (make setup installs tools/py)

Each file is parsed as the resource its resourceType names; a Bundle's entries are validated as
their own resource types. Prints one line per file and exits 1 if any is invalid.
"""
import json
import sys

from fhir.resources import __fhir_version__, get_fhir_model_class


def main(paths):
    if __fhir_version__ != "4.0.1":
        sys.exit(f"fhir.resources models FHIR {__fhir_version__}, not R4 4.0.1: reinstall tools/py")
    failed = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            get_fhir_model_class(data["resourceType"]).parse_obj(data)
            print(f"valid    {path} ({data['resourceType']}, FHIR {__fhir_version__})")
        except Exception as err:  # any parse or validation error makes the file invalid
            failed += 1
            print(f"INVALID  {path}: {err}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
