"""Numbers as the summary tables print them."""


def fmt_int(n) -> str:
    return f"{int(n):,}"


def fmt_si(n, unit="") -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()


def fmt_bytes(n) -> str:
    return f"{n / 1e6:,.2f} MB"


def fmt_shape(shapes) -> str:
    if not shapes:
        return "-"
    if len(shapes) == 1:
        return str(tuple(shapes[0]))
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"
