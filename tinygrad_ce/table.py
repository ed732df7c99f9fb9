"""The one table formatter: the tape, the trace, gradcheck and check_layer print with it."""


def table(rows, indent=""):
    """Lines of ``rows`` (tuples of strings) in left-aligned columns two spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
