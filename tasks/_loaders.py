"""Readers of standard instance files: OR-Library ``mknap``, TSPLIB ``.tsp``, DIMACS graphs.

Each reader checks declared sizes before allocating, rejects non-finite numbers and
raises :class:`~qworkbench.errors.InstanceFormatError` naming the line of a malformed
file.
"""

from __future__ import annotations

import math
import os

import networkx as nx
import numpy as np

from qworkbench.errors import InstanceFormatError
from tasks.problems import TSP, Knapsack

_MAX_FILE_BYTES = 256 * 1024**2
_MAX_ITEMS = 100_000
_MAX_ENTRIES = 10_000_000  # numbers an instance may declare (weights, matrix entries)
_MAX_CITIES = 3_000
_MAX_NODES = 1_000_000


def _read_lines(path) -> list[str]:
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size > _MAX_FILE_BYTES:
        raise InstanceFormatError(f"{path}: file of {size} bytes is too large", path=path)
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InstanceFormatError(f"{path}:{line}: not UTF-8 text", line, path) from None
    return text.splitlines()


class _Tokens:
    """Whitespace-separated numbers with the line each came from."""

    def __init__(self, lines, path: str, first_line: int = 1):
        self.path = path
        self.items = [(tok, k) for k, line in enumerate(lines, first_line) for tok in line.split()]
        self.pos = 0
        self.last_line = first_line + max(len(lines) - 1, 0)

    def error(self, message: str, line: int | None = None) -> InstanceFormatError:
        if line is None:
            line = self.items[self.pos][1] if self.pos < len(self.items) else self.last_line
        return InstanceFormatError(f"{self.path}:{line}: {message}", line, self.path)

    def remaining(self) -> int:
        return len(self.items) - self.pos

    def number(self, what: str) -> float:
        if self.pos >= len(self.items):
            raise self.error(f"file ends where {what} was expected")
        tok, line = self.items[self.pos]
        try:
            value = float(tok)
        except ValueError:
            raise self.error(f"{what} must be a number, got {tok!r}", line) from None
        if not math.isfinite(value):
            raise self.error(f"{what} must be finite, got {tok!r}", line)
        self.pos += 1
        return value

    def integer(self, what: str, low: int, high: int) -> int:
        line = self.items[self.pos][1] if self.pos < len(self.items) else self.last_line
        value = self.number(what)
        if value != int(value) or not low <= value <= high:
            raise self.error(f"{what} must be an integer in [{low}, {high}], got {value}", line)
        return int(value)

    def array(self, count: int, what: str) -> np.ndarray:
        if self.remaining() < count:
            raise self.error(f"{what} needs {count} numbers, only {self.remaining()} left")
        return np.array([self.number(what) for _ in range(count)])


def load_mknap(path) -> list[Knapsack]:
    """OR-Library multi-dimensional knapsack file (``mknap1``...): the number of
    instances, then per instance ``n m optimum``, ``n`` profits, ``m`` rows of ``n``
    weights and ``m`` capacities. Each :class:`Knapsack` gets ``known_optimum``
    (``None`` when the file gives 0, OR-Library's "unknown") and ``name``."""
    path = os.fspath(path)
    tok = _Tokens(_read_lines(path), path)
    count = tok.integer("number of instances", 1, _MAX_ITEMS)
    out = []
    for k in range(count):
        start = tok.items[tok.pos][1] if tok.remaining() else tok.last_line
        n = tok.integer(f"instance {k + 1}: number of items", 1, _MAX_ITEMS)
        m = tok.integer(f"instance {k + 1}: number of constraints", 1, _MAX_ITEMS)
        if n * (m + 1) + m > _MAX_ENTRIES:
            raise tok.error(f"instance {k + 1}: {n} items x {m} constraints is too large", start)
        opt = tok.number(f"instance {k + 1}: optimum")
        values = tok.array(n, f"instance {k + 1}: profits")
        weights = tok.array(n * m, f"instance {k + 1}: weights").reshape(m, n)
        capacities = tok.array(m, f"instance {k + 1}: capacities")
        try:
            ks = Knapsack(values, weights, capacities)
        except ValueError as exc:
            raise tok.error(f"instance {k + 1} (from line {start}): {exc}", start) from None
        ks.known_optimum = (int(opt) if opt == int(opt) else opt) if opt != 0 else None
        ks.name = f"{os.path.basename(path)}#{k + 1}"
        out.append(ks)
    if tok.remaining():
        raise tok.error(f"unexpected {tok.items[tok.pos][0]!r} after {count} instances")
    return out


# -- TSPLIB ---------------------------------------------------------------------------------
def _nint(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _geo_radians(coords: np.ndarray) -> np.ndarray:
    """TSPLIB's GEO conversion: DDD.MM (degrees and minutes) to radians with PI = 3.141592."""
    deg = np.trunc(coords)
    return 3.141592 * (deg + 5.0 * (coords - deg) / 3.0) / 180.0


def _coord_distances(coords: np.ndarray, kind: str) -> np.ndarray:
    """Distances by the TSPLIB rule ``kind`` (Reinelt, TSPLIB 95, section 2)."""
    diff = coords[:, None, :] - coords[None, :, :]
    if kind in ("EUC_2D", "EUC_3D"):
        return _nint(np.sqrt((diff**2).sum(axis=-1)))
    if kind == "CEIL_2D":
        return np.ceil(np.sqrt((diff**2).sum(axis=-1)))
    if kind in ("MAN_2D", "MAN_3D"):
        return _nint(np.abs(diff).sum(axis=-1))
    if kind in ("MAX_2D", "MAX_3D"):
        return _nint(np.abs(diff)).max(axis=-1)
    if kind == "ATT":
        r = np.sqrt((diff**2).sum(axis=-1) / 10.0)
        t = _nint(r)
        return np.where(t < r, t + 1, t)
    if kind == "GEO":
        lat, lon = _geo_radians(coords[:, 0]), _geo_radians(coords[:, 1])
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(6378.388 * np.arccos(arg) + 1.0)
        np.fill_diagonal(d, 0.0)
        return d
    raise AssertionError(kind)  # pragma: no cover - filtered by the caller


_COORD_TYPES = {
    "EUC_2D": 2,
    "CEIL_2D": 2,
    "MAN_2D": 2,
    "MAX_2D": 2,
    "ATT": 2,
    "GEO": 2,
    "EUC_3D": 3,
    "MAN_3D": 3,
    "MAX_3D": 3,
}
# entries per format for n cities, and the (row, col) order in which they fill the matrix
_FORMATS = {
    "FULL_MATRIX": lambda n: [(i, j) for i in range(n) for j in range(n)],
    "UPPER_ROW": lambda n: [(i, j) for i in range(n) for j in range(i + 1, n)],
    "LOWER_ROW": lambda n: [(i, j) for i in range(n) for j in range(i)],
    "UPPER_DIAG_ROW": lambda n: [(i, j) for i in range(n) for j in range(i, n)],
    "LOWER_DIAG_ROW": lambda n: [(i, j) for i in range(n) for j in range(i + 1)],
    "UPPER_COL": lambda n: [(i, j) for j in range(n) for i in range(j)],
    "LOWER_COL": lambda n: [(i, j) for j in range(n) for i in range(j + 1, n)],
    "UPPER_DIAG_COL": lambda n: [(i, j) for j in range(n) for i in range(j + 1)],
    "LOWER_DIAG_COL": lambda n: [(i, j) for j in range(n) for i in range(j, n)],
}
_FORMAT_SIZE = {
    "FULL_MATRIX": lambda n: n * n,
    "UPPER_ROW": lambda n: n * (n - 1) // 2,
    "LOWER_ROW": lambda n: n * (n - 1) // 2,
    "UPPER_DIAG_ROW": lambda n: n * (n + 1) // 2,
    "LOWER_DIAG_ROW": lambda n: n * (n + 1) // 2,
    "UPPER_COL": lambda n: n * (n - 1) // 2,
    "LOWER_COL": lambda n: n * (n - 1) // 2,
    "UPPER_DIAG_COL": lambda n: n * (n + 1) // 2,
    "LOWER_DIAG_COL": lambda n: n * (n + 1) // 2,
}


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _tsplib_header(lines, path):
    """``(spec, sections)``: the ``KEY: VALUE`` header and each data section's line range."""
    spec: dict[str, tuple[str, int]] = {}
    sections: dict[str, tuple[int, int]] = {}
    current, start, end = None, 0, len(lines) + 1

    def close(k):
        if current is not None:
            sections[current] = (start, k - 1)

    for k, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        key = line.split(":", 1)[0].strip().upper()
        if key == "EOF":
            end = k
            break
        if key.endswith("_SECTION"):
            close(k)
            if key in sections or key == current:
                raise InstanceFormatError(f"{path}:{k}: {key} appears twice", k, path)
            current, start = key, k + 1
            continue
        if current is not None and _is_number(line.split()[0]):
            continue  # a data line of the open section
        if ":" not in line:
            raise InstanceFormatError(f"{path}:{k}: expected KEY: VALUE, got {line!r}", k, path)
        if key in spec:
            raise InstanceFormatError(f"{path}:{k}: {key} appears twice", k, path)
        close(k)
        current = None
        spec[key] = (line.split(":", 1)[1].strip(), k)
    close(end)
    return spec, sections


def _node_coords(lines, first: int, last: int, n: int, dims: int, path: str) -> np.ndarray:
    """NODE_COORD_SECTION lines ``first..last`` (1-based): one ``node x y [z]`` per line,
    so a short or long line is reported on its own line, not where the next one starts."""
    coords = np.full((n, dims), np.nan)
    listed = 0
    for k in range(first, last + 1):
        parts = lines[k - 1].split()
        if not parts:
            continue
        tok = _Tokens([lines[k - 1]], path, k)
        if len(parts) != 1 + dims:
            raise tok.error(f"expected a node number and {dims} coordinates, got {len(parts)} "
                            f"values in {lines[k - 1].strip()!r}")  # fmt: skip
        if listed == n:
            raise tok.error(f"more than DIMENSION = {n} nodes")
        node = tok.integer("node number", 1, n)
        if not np.isnan(coords[node - 1, 0]):
            raise tok.error(f"node {node} listed twice", k)
        coords[node - 1] = [tok.number(f"coordinate of node {node}") for _ in range(dims)]
        listed += 1
    if listed < n:
        line = max(last, 1)  # the section's last line (its header when it is empty)
        raise InstanceFormatError(
            f"{path}:{line}: NODE_COORD_SECTION ends after {listed} of DIMENSION = {n} nodes",
            line,
            path,
        )
    return coords


def load_tsplib(path) -> TSP:
    """A TSPLIB ``TSP``/``ATSP`` file as :class:`TSP` with ``.distances`` by TSPLIB's rules
    (``EUC_2D``/``CEIL_2D``/``MAN``/``MAX``/``ATT``/``GEO`` coordinates or an ``EXPLICIT``
    matrix in any TSPLIB ``EDGE_WEIGHT_FORMAT``); ``.name`` is the file's ``NAME``."""
    path = os.fspath(path)
    lines = _read_lines(path)
    spec, sections = _tsplib_header(lines, path)

    def need(key):
        if key not in spec:
            raise InstanceFormatError(f"{path}: missing {key}", None, path)
        return spec[key]

    kind, kline = need("TYPE")
    if kind.upper() not in ("TSP", "ATSP"):
        raise InstanceFormatError(f"{path}:{kline}: TYPE {kind!r} is not TSP or ATSP", kline, path)
    dim_text, dline = need("DIMENSION")
    try:
        n = int(dim_text)
    except ValueError:
        n = -1
    if not 2 <= n <= _MAX_CITIES:
        raise InstanceFormatError(
            f"{path}:{dline}: DIMENSION must be an integer in [2, {_MAX_CITIES}], got {dim_text!r}",
            dline,
            path,
        )
    wtype, wline = need("EDGE_WEIGHT_TYPE")
    wtype = wtype.upper()
    if wtype in _COORD_TYPES:
        if "NODE_COORD_SECTION" not in sections:
            raise InstanceFormatError(f"{path}: missing NODE_COORD_SECTION", None, path)
        first, last = sections["NODE_COORD_SECTION"]
        coords = _node_coords(lines, first, last, n, _COORD_TYPES[wtype], path)
        distances = _coord_distances(coords, wtype)
    elif wtype == "EXPLICIT":
        fmt, fline = need("EDGE_WEIGHT_FORMAT")
        fmt = fmt.upper()
        if fmt not in _FORMATS:
            raise InstanceFormatError(
                f"{path}:{fline}: unsupported EDGE_WEIGHT_FORMAT {fmt!r}", fline, path
            )
        if "EDGE_WEIGHT_SECTION" not in sections:
            raise InstanceFormatError(f"{path}: missing EDGE_WEIGHT_SECTION", None, path)
        first, last = sections["EDGE_WEIGHT_SECTION"]
        tok = _Tokens(lines[first - 1 : last], path, first)
        values = tok.array(_FORMAT_SIZE[fmt](n), f"{fmt} entries")
        if tok.remaining():
            raise tok.error(f"more entries than {fmt} of DIMENSION {n} holds")
        distances = np.zeros((n, n))
        for (i, j), v in zip(_FORMATS[fmt](n), values):
            distances[i, j] = v
            if fmt != "FULL_MATRIX":
                distances[j, i] = v
    else:
        raise InstanceFormatError(
            f"{path}:{wline}: unsupported EDGE_WEIGHT_TYPE {wtype!r}", wline, path
        )
    problem = TSP(distances)
    problem.name = spec.get("NAME", (os.path.basename(path), 0))[0]
    return problem


def load_dimacs(path) -> nx.Graph:
    """A DIMACS graph (``p edge N M`` or ``p col N M``, ``e u v`` lines with 1-based
    vertices, ``c`` comments) as a networkx Graph on nodes ``0..N-1``. The number of
    ``e`` lines must equal ``M``; self-loops are rejected, repeated edges kept once."""
    path = os.fspath(path)
    graph, declared, pline, edges = None, 0, 0, 0

    def bad(k, message):
        return InstanceFormatError(f"{path}:{k}: {message}", k, path)

    for k, raw in enumerate(_read_lines(path), 1):
        parts = raw.split()
        if not parts or parts[0] == "c":
            continue
        if parts[0] == "p":
            if graph is not None:
                raise bad(k, "second 'p' line")
            if len(parts) != 4 or parts[1] not in ("edge", "col", "edges"):
                raise bad(k, f"expected 'p edge N M', got {raw.strip()!r}")
            try:
                n, declared = int(parts[2]), int(parts[3])
            except ValueError:
                raise bad(k, f"N and M must be integers, got {raw.strip()!r}") from None
            if not 1 <= n <= _MAX_NODES or not 0 <= declared <= _MAX_ENTRIES:
                raise bad(k, f"N = {n} or M = {declared} out of range")
            graph, pline = nx.Graph(), k
            graph.add_nodes_from(range(n))
        elif parts[0] == "e":
            if graph is None:
                raise bad(k, "edge before the 'p' line")
            if len(parts) != 3:
                raise bad(k, f"expected 'e u v', got {raw.strip()!r}")
            try:
                u, v = int(parts[1]), int(parts[2])
            except ValueError:
                raise bad(k, f"vertices must be integers, got {raw.strip()!r}") from None
            n = graph.number_of_nodes()
            if not (1 <= u <= n and 1 <= v <= n):
                raise bad(k, f"vertex out of range 1..{n} in {raw.strip()!r}")
            if u == v:
                raise bad(k, f"self-loop at vertex {u}")
            edges += 1
            if edges > declared:
                raise bad(k, f"more than the M = {declared} edges declared on line {pline}")
            graph.add_edge(u - 1, v - 1)
        else:
            raise bad(k, f"unknown line type {parts[0]!r}")
    if graph is None:
        raise InstanceFormatError(f"{path}: no 'p edge N M' line", None, path)
    if edges != declared:
        raise bad(pline, f"declares M = {declared} edges but the file has {edges}")
    return graph
