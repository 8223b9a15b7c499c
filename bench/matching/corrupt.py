"""Two corruption generators written from published descriptions of how record linkage test
data are made, independent of the Pathways generator's own perturbations (which share its
blind spots). Each reads a clean list A (the columns of `generate`'s a.csv) and writes a
list B of corrupted copies of some A people plus other people, with truth.

Usage: corrupt.py {geco|febrl} A.csv OUT_DIR SEED

geco  -- after Christen and Vatsalan, "Flexible and extensible generation and corruption of
         personal data" (GeCo, CIKM 2013): each copy gets 1-3 corrupted fields; a corruptor
         is drawn per field: keyboard typos (a neighbouring key on a QWERTY keyboard), OCR
         confusions (rn/m, cl/d, 0/o, 1/l, 5/s), phonetic variants (ph/f, ck/k, c/k,
         ie/y, double letters), missing values, dates in another layout or with digits
         slipped, day and month swapped (also into impossible dates such as 19751402).
febrl -- after Christen, "Probabilistic data generation for deduplication and data
         linkage" (FEBRL, IDEAL 2005): up to 3 modifications per record and 2 per field:
         insert, delete, substitute or transpose a character, merge or split words, swap
         first name and surname, set a field missing, replace a value by a common variant;
         plus confusers that are not matches: twins (same surname, date of birth and home,
         other first name) and household members (same surname and home, other first name
         and date of birth).
"""

import csv
import os
import random
import sys

COLUMNS = ["id", "first_name", "middle_names", "surname", "dob", "approx_birth_year", "gender",
           "postcode", "address_line", "phone", "school", "email"]
TEXT = ["first_name", "surname", "address_line", "school", "middle_names"]

QWERTY = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def neighbours(c):
    for r, row in enumerate(QWERTY):
        if c in row:
            i = row.index(c)
            out = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            for rr in (r - 1, r + 1):
                if 0 <= rr < len(QWERTY) and i < len(QWERTY[rr]):
                    out.append(QWERTY[rr][i])
            return out
    return []


def keyboard_typo(rng, s):
    idx = [i for i, c in enumerate(s) if c.lower() in "".join(QWERTY)]
    if not idx:
        return s
    i = rng.choice(idx)
    n = neighbours(s[i].lower())
    return s[:i] + rng.choice(n) + s[i + 1:] if n else s


OCR = [("rn", "m"), ("m", "rn"), ("cl", "d"), ("d", "cl"), ("o", "0"), ("l", "1"),
       ("s", "5"), ("i", "l"), ("u", "v"), ("nn", "m")]
PHONETIC = [("ph", "f"), ("f", "ph"), ("ck", "k"), ("c", "k"), ("k", "c"), ("ie", "y"),
            ("y", "ie"), ("ee", "ea"), ("ou", "ow"), ("z", "s"), ("s", "z"), ("th", "t"),
            ("ll", "l"), ("tt", "t"), ("mm", "m"), ("nn", "n"), ("a", "e")]


def replace_one(rng, s, rules):
    options = [(a, b) for a, b in rules if a in s.lower()]
    if not options:
        return s
    a, b = rng.choice(options)
    low = s.lower()
    starts = [i for i in range(len(low)) if low.startswith(a, i)]
    i = rng.choice(starts)
    return s[:i] + b + s[i + len(a):]


def date_parts(dob):
    try:
        y, m, d = dob.split("-")
        return int(y), int(m), int(d)
    except ValueError:
        return None


def date_error(rng, dob):
    p = date_parts(dob)
    if p is None:
        return dob
    y, m, d = p
    r = rng.random()
    if r < 0.25:   # day and month swapped, written compactly: may be an impossible date
        return f"{y:04d}{d:02d}{m:02d}"
    if r < 0.45:   # another layout
        return rng.choice([f"{d:02d}/{m:02d}/{y:04d}", f"{y:04d}{m:02d}{d:02d}",
                           f"{d:02d}.{m:02d}.{y:04d}", f"{d}-{m}-{y}"])
    if r < 0.7:    # one digit slipped
        s = f"{y:04d}{m:02d}{d:02d}"
        i = rng.randrange(2, 8)
        return s[:i] + str(rng.randrange(10)) + s[i + 1:]
    if r < 0.85:   # year off by one or ten
        return f"{y + rng.choice([-10, -1, 1, 10]):04d}-{m:02d}-{d:02d}"
    # neighbouring digits transposed
    s = f"{y:04d}{m:02d}{d:02d}"
    i = rng.randrange(2, 7)
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def geco_copy(rng, rec):
    q = dict(rec)
    fields = ["first_name", "surname", "dob", "postcode", "address_line", "phone", "school",
              "email", "gender"]
    for f in rng.sample(fields, rng.randint(1, 3)):
        if not q[f]:
            continue
        r = rng.random()
        if f == "dob":
            q[f] = "" if r < 0.15 else date_error(rng, q[f])
        elif r < 0.15:
            q[f] = ""
        elif f in ("phone", "postcode"):
            s = q[f]
            i = rng.randrange(len(s))
            q[f] = s[:i] + (str(rng.randrange(10)) if s[i].isdigit() else keyboard_typo(rng, s[i])) + s[i + 1:]
        elif r < 0.5:
            q[f] = keyboard_typo(rng, q[f])
        elif r < 0.75:
            q[f] = replace_one(rng, q[f], OCR)
        else:
            q[f] = replace_one(rng, q[f], PHONETIC)
    return q


def edit(rng, s):
    if len(s) < 2:
        return s
    i = rng.randrange(1, len(s))
    op = rng.randrange(4)
    letters = "abcdefghijklmnopqrstuvwxyz"
    if op == 0:
        return s[:i] + rng.choice(letters) + s[i:]
    if op == 1:
        return s[:i] + s[i + 1:]
    if op == 2:
        return s[:i] + rng.choice(letters) + s[i + 1:]
    return s[:i - 1] + s[i] + s[i - 1] + s[i + 1:]


def febrl_copy(rng, rec, variants):
    q = dict(rec)
    for _ in range(rng.randint(1, 3)):
        f = rng.choice(["first_name", "surname", "dob", "postcode", "address_line", "phone",
                        "school", "first_name", "surname", "swap"])
        if f == "swap":
            q["first_name"], q["surname"] = q["surname"], q["first_name"]
            continue
        if not q[f]:
            continue
        for _ in range(rng.randint(1, 2)):
            r = rng.random()
            if r < 0.1:
                q[f] = ""
                break
            if r < 0.25 and f in ("first_name", "surname") and variants.get(f):
                q[f] = rng.choice(variants[f])
            elif r < 0.35 and " " in q[f]:
                q[f] = q[f].replace(" ", "", 1)           # words merged
            elif r < 0.4 and len(q[f]) > 4 and f in TEXT:
                i = rng.randrange(2, len(q[f]) - 1)
                q[f] = q[f][:i] + " " + q[f][i:]          # word split
            elif f == "dob":
                p = date_parts(q[f])
                if p:
                    s = f"{p[0]:04d}{p[1]:02d}{p[2]:02d}"
                    q[f] = edit(rng, s) if rng.random() < 0.5 else f"{p[0]:04d}{p[2]:02d}{p[1]:02d}"
            else:
                q[f] = edit(rng, q[f])
    return q


def main():
    mode, a_path, out_dir, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if mode not in ("geco", "febrl"):
        sys.exit("corrupt.py: the generator is geco or febrl")
    rng = random.Random(seed)
    with open(a_path, newline="") as f:
        people = list(csv.DictReader(f))
    os.makedirs(out_dir, exist_ok=True)
    # Common variants of a name: other spellings seen in the list with the same first three
    # letters (FEBRL draws them from look-up tables).
    by_prefix = {}
    for p in people:
        for f in ("first_name", "surname"):
            by_prefix.setdefault((f, p[f][:3].lower()), set()).add(p[f])
    out, truth = [], []
    for p in people:
        truth.append((p["id"], p["id"]))
    n = 0

    def new_id():
        nonlocal n
        n += 1
        return f"B{n:07d}"

    for p in people:
        r = rng.random()
        if r < 0.6:
            variants = {f: sorted(by_prefix.get((f, p[f][:3].lower()), set()) - {p[f]})
                        for f in ("first_name", "surname")}
            q = geco_copy(rng, p) if mode == "geco" else febrl_copy(rng, p, variants)
            q["id"] = new_id()
            out.append(q)
            truth.append((q["id"], p["id"]))
        elif r < 0.75:
            # Another person: fields drawn from different people of list A.
            q = {c: rng.choice(people)[c] for c in COLUMNS}
            q["id"] = new_id()
            out.append(q)
            truth.append((q["id"], q["id"]))
        elif mode == "febrl" and r < 0.8:
            # A twin or a household member: same surname and home, someone else.
            other = rng.choice(people)
            q = dict(p)
            q["first_name"], q["email"], q["middle_names"] = other["first_name"], "", ""
            q["gender"] = other["gender"]
            if rng.random() < 0.5:
                q["dob"] = other["dob"]
            q["id"] = new_id()
            out.append(q)
            truth.append((q["id"], q["id"]))
    rng.shuffle(out)
    with open(os.path.join(out_dir, "a.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(people)
    with open(os.path.join(out_dir, "b.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(out)
    with open(os.path.join(out_dir, "truth.csv"), "w") as f:
        f.write("id,cluster\n")
        for rid, c in truth:
            f.write(f"{rid},{c}\n")


if __name__ == "__main__":
    main()
