#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Counts what the kernel-facing layer exposes of C, for the abstractions work.

    tools/count-edges.py [REPO]

Prints, over the overlay's Rust (rust/, arch/) and C glue:

* unsafe blocks: `unsafe {` (not `unsafe fn`, `unsafe impl`, `unsafe extern`);
* raw-pointer parameters of functions outside the edge modules: parameters typed
  `*mut T` or `*const T`, in files that are not an edge (the edge modules are
  the ones whose job is to turn C pointers into owned types: listed in EDGE
  below, and any file named `ffi.rs`);
* hand-written extern declarations: items (fn or static) inside `extern "C" {`
  blocks;
* `static mut` items;
* lines of C glue: non-blank lines of .c and .h files that are not comments.

Comments and string literals are stripped before counting, so a doc comment that
mentions `unsafe {` does not count.
"""
import pathlib
import re
import sys

# Edge modules: the thin layer over C that owns the unsafe (see the design notes).
EDGE = {
    "rust/kexec/page.rs",
}


def strip(src: str) -> str:
    """Source with comments and string/char literals blanked (lengths kept)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"' or (c == "c" and src.startswith('c"', i)):
            start = i
            i += 2 if c == "c" else 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == "\\" else 1
            i += 1
            out.append('""'.ljust(i - start))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def rust_counts(path: pathlib.Path, rel: str):
    code = strip(path.read_text())
    unsafe_blocks = len(re.findall(r"\bunsafe\s*\{", code))
    static_mut = len(re.findall(r"(?<!')\bstatic\s+mut\b", code))
    externs = 0
    for m in re.finditer(r'extern\s+"\w*"\s*\{', code):
        depth, j = 1, m.end()
        while depth and j < len(code):
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        body = code[m.end():j]
        externs += len(re.findall(r"\b(?:fn|static)\s+\w+", body))
    raw_params = 0
    if rel not in EDGE and not rel.endswith("/ffi.rs"):
        for m in re.finditer(r"\bfn\s+\w+\s*(?:<[^>]*>)?\s*\(", code):
            depth, j = 1, m.end()
            while depth and j < len(code):
                depth += {"(": 1, ")": -1}.get(code[j], 0)
                j += 1
            params = code[m.end():j - 1]
            raw_params += len(re.findall(r":\s*\*(?:mut|const)\b", params))
    return unsafe_blocks, raw_params, externs, static_mut


def c_lines(path: pathlib.Path) -> int:
    code = strip(path.read_text())
    return sum(1 for line in code.splitlines() if line.strip())


def main() -> None:
    repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
    totals = [0, 0, 0, 0]
    glue = 0
    rows = []
    for top in ("rust", "arch"):
        for p in sorted((repo / top).rglob("*")):
            rel = p.relative_to(repo).as_posix()
            if p.suffix == ".rs":
                c = rust_counts(p, rel)
                totals = [a + b for a, b in zip(totals, c)]
                if any(c):
                    rows.append((rel, c))
            elif p.suffix in (".c", ".h"):
                glue += c_lines(p)
    for rel, c in rows:
        print(f"  {rel:40} unsafe {c[0]:3}  raw-ptr params {c[1]:3}  extern decls {c[2]:3}  static mut {c[3]}")
    print(
        f"unsafe blocks: {totals[0]}; raw-pointer parameters outside the edge modules: {totals[1]}; "
        f"hand-written extern declarations: {totals[2]}; static mut: {totals[3]}; lines of C glue: {glue}"
    )


if __name__ == "__main__":
    main()
