"""rtws.h reduced to what cffi's parser takes, shared by the binding (`_ffi.py`, at import)
and the builder of its compiled module (`_build.py`, at install): comments go, the few
preprocessor conditions the header has are evaluated for a C99 compiler (so the `: int32_t`
enum bases and the C23 typedefs drop out), and #define lines are collected as integer
constants instead of being declared. No import of the package: setup.py loads this file
on its own."""
import re


def _condition(expr, defined):
    """Evaluates one #if expression of the header for C99 (no __cplusplus)."""
    expr = re.sub(r"defined\s*\(\s*(\w+)\s*\)", lambda m: str(int(m[1] in defined)), expr)
    expr = expr.replace("__STDC_VERSION__", "199901").replace("L", "")
    expr = expr.replace("||", " or ").replace("&&", " and ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    return bool(eval(expr, {"__builtins__": {}}))  # digits, comparisons and logic only


def preprocess(text):
    """Returns (declarations for cffi, {macro: int}) from the header's text."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"\\\n", " ", text)
    defined, constants, out = set(), {}, []
    stack = []  # one [taking, taken_before] per open #if

    def active():
        return all(taking for taking, _ in stack)

    for line in text.splitlines():
        m = re.match(r"\s*#\s*(\w+)\s*(.*)", line)
        if not m:
            if active():
                out.append(line)
            continue
        directive, rest = m[1], m[2].strip()
        if directive in ("if", "ifdef", "ifndef"):
            if directive == "ifdef":
                cond = rest in defined
            elif directive == "ifndef":
                cond = rest not in defined
            else:
                cond = active() and _condition(rest, defined)
            stack.append([cond, cond])
        elif directive == "else":
            stack[-1] = [not stack[-1][1], True]
        elif directive == "endif":
            stack.pop()
        elif directive == "define" and active():
            name, _, value = rest.partition(" ")
            defined.add(name)
            # Integer macros only: `N`, `Nu`, `(HRESULT)Nu` (as a signed 32-bit HRESULT).
            v = re.fullmatch(r"(\(HRESULT\))?\s*(\d+)u?", value.strip())
            if v:
                n = int(v[2])
                constants[name] = n - (1 << 32) if v[1] and n >= 1 << 31 else n
        elif directive != "include":
            raise ImportError(f"rtws: unexpected directive in rtws.h: {line!r}")
    return "\n".join(out), constants


def enums(text):
    """{enum name: [(member, value)]} of the header's `enum X { X_Member = n, ... }`."""
    result = {}
    for m in re.finditer(r"enum (\w+)[^{;]*\{([^}]*)\}", text):
        result[m[1]] = [(k, int(v)) for k, v in re.findall(r"(\w+)\s*=\s*(-?\d+)", m[2])]
    return result
