"""Compute reference Getis-Ord Gi* z-scores with PySAL esda for a fixed grid.

Writes crates/insight/tests/fixtures/gi_star_esda.json, which the crate's tests compare
against (within 1e-6). Run by bench/insight/run.sh; requires esda, libpysal, numpy.
"""
import json
import sys

import numpy as np
import esda
import libpysal

ROWS, COLS = 6, 7
# A fixed, deterministic pattern: a cluster, a cold corner and background noise.
values = []
for r in range(ROWS):
    for c in range(COLS):
        v = (r * 7 + c * 3) % 5
        if 2 <= r <= 3 and 3 <= c <= 5:
            v += 12
        if r == 0 and c == 0:
            v = 0
        values.append(float(v))

y = np.array(values)
w = libpysal.weights.lat2W(ROWS, COLS, rook=False)  # queen contiguity, row-major ids
g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
out = {
    "rows": ROWS,
    "cols": COLS,
    "order": "row-major: id = row * cols + col",
    "weights": "queen contiguity including self (esda star=True), binary",
    "esda_version": esda.__version__,
    "values": values,
    "z": [float(z) for z in g.Zs],
}
path = sys.argv[1] if len(sys.argv) > 1 else "crates/insight/tests/fixtures/gi_star_esda.json"
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(f"wrote {path}: {len(values)} cells, max z {max(out['z']):.4f}")
