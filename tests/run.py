#!/usr/bin/env python3
"""Run one test case by name, or list them all (--list).

Cases live in tests/test_*.py as functions named test_<case> taking no
arguments; lwtest.py has the helpers they share."""
import importlib.util
import pathlib
import sys
import traceback

HERE = pathlib.Path(__file__).resolve().parent


def load_cases():
    cases = {}
    sys.path.insert(0, str(HERE))
    for path in sorted(HERE.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in dir(module):
            if name.startswith("test_") and callable(getattr(module, name)):
                case = f"{path.stem[len('test_'):]}.{name[len('test_'):]}"
                cases[case] = getattr(module, name)
    return cases


def main(argv):
    cases = load_cases()
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(cases))
        return 0
    if len(argv) != 2 or argv[1] not in cases:
        print(f"usage: {argv[0]} --list | CASE", file=sys.stderr)
        return 2
    try:
        cases[argv[1]]()
    except Exception:
        traceback.print_exc()
        print(f"FAIL {argv[1]}")
        return 1
    print(f"PASS {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
