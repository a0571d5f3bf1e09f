"""Write protocol/common_passwords.txt: the 10,000 most common passwords, most common first.

Source: the "passwords" frequency list of zxcvbn-python 4.5.0 (MIT licence, Copyright (c) 2016
Daniel Wolf; the lists come from Dropbox's zxcvbn, MIT, Copyright (c) 2012 Dropbox, Inc.), read
from its wheel without installing it:

    python scripts/make_common_passwords.py /path/to/zxcvbn-4.5.0-py2.py3-none-any.whl
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

COUNT = 10_000
OUT = Path(__file__).resolve().parents[1] / "protocol" / "common_passwords.txt"
HEADER = (
    "# The 10,000 most common passwords, most common first, one a line (lines with # are comments).\n"
    "# Source: zxcvbn-python 4.5.0, zxcvbn/frequency_lists.py, list \"passwords\"\n"
    "# (https://github.com/dwolfhub/zxcvbn-python), MIT licence,\n"
    "# Copyright (c) 2016 Daniel Wolf; lists from Dropbox's zxcvbn, MIT, Copyright (c) 2012 Dropbox, Inc.\n"
    "# Made by scripts/make_common_passwords.py.\n"
)


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("zxcvbn/frequency_lists.py").decode("utf-8")
    # A dict of '"a,b,c".split(",")' calls: parsed, never executed; the "passwords" string is read.
    lists = next(node.value for node in ast.parse(source).body if isinstance(node, ast.Assign))
    named = zip(lists.keys, lists.values, strict=True)
    call = next(value for key, value in named if ast.literal_eval(key) == "passwords")
    passwords = ast.literal_eval(call.func.value).split(",")[:COUNT]
    assert len(passwords) == COUNT and all(p and "\n" not in p for p in passwords)
    OUT.write_text(HEADER + "\n".join(passwords) + "\n", encoding="utf-8")
    print(f"{len(passwords)} passwords written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
