"""Precision, recall and F1 of scored pairs against generated truth.

Usage: evaluate.py TRUTH.csv PAIRS.csv [THRESHOLD]
PAIRS.csv needs a_id, b_id and probability columns. Prints one line of key=value figures
at THRESHOLD (default 0.5) and at the best threshold among the scores present, and
`compared`: the true pairs present in PAIRS.csv at any probability. When PAIRS.csv holds
every pair the tool compared (threshold 0), that is blocking recall.
"""

import csv
import sys


def main() -> None:
    truth_path, pairs_path = sys.argv[1:3]
    threshold = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    cluster = {}
    with open(truth_path, newline="") as f:
        for row in csv.DictReader(f):
            cluster[row["id"]] = row["cluster"]
    a_by_cluster = {}
    b_count = {}
    for rid, c in cluster.items():
        if rid.startswith("A"):
            a_by_cluster[c] = rid
        else:
            b_count[c] = b_count.get(c, 0) + 1
    true_total = sum(n for c, n in b_count.items() if c in a_by_cluster)
    scored = []
    with open(pairs_path, newline="") as f:
        for row in csv.DictReader(f):
            a, b = row["a_id"], row["b_id"]
            if a.startswith("B"):
                a, b = b, a
            scored.append((float(row["probability"]), cluster.get(a) == cluster.get(b)))

    def at(t: float):
        tp = sum(1 for p, ok in scored if p >= t and ok)
        fp = sum(1 for p, ok in scored if p >= t and not ok)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / true_total if true_total else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    p, r, f1 = at(threshold)
    compared = sum(1 for _, ok in scored if ok)
    # Sweep thresholds from the highest score down, keeping running counts.
    best = (0.0, threshold)
    tp = fp = 0
    ordered = sorted(scored, key=lambda x: -x[0])
    for i, (prob, ok) in enumerate(ordered):
        tp += ok
        fp += not ok
        if i + 1 < len(ordered) and ordered[i + 1][0] == prob:
            continue
        precision, recall = tp / (tp + fp), tp / true_total if true_total else 0.0
        f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f > best[0]:
            best = (f, prob)
    print(f"precision={p:.4f} recall={r:.4f} f1={f1:.4f} best_f1={best[0]:.4f} best_threshold={best[1]:.3f} true_pairs={true_total} compared={compared}")


if __name__ == "__main__":
    main()
