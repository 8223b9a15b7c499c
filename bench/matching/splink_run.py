"""Runs Splink (DuckDB backend) on two CSV lists and writes every scored pair.

Usage: splink_run.py {people|febrl} A.csv B.csv OUT.csv
`people` is the layout of the generated lists (and their corrupted copies); `febrl` the
FEBRL layout (given_name, surname, street_number, address_1, address_2, suburb, postcode,
state, date_of_birth), each with the comparisons and blocking a competent user would
choose for it (below).
The model mirrors the Pathways one: Jaro-Winkler names, date of birth, postcode
sector/district, address, phone, school, gender, e-mail; u by random sampling, m by EM on
blocked pairs; the same blocking ideas. Prints the wall time of cleaning, training and
prediction (library import excluded) as `seconds=<float> cpu_seconds=<float>`.
"""

import logging
import resource
import sys
import time

import pandas as pd

import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def clean(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """The cleaning Splink's documentation asks of its users: lower-case trimmed names,
    canonical postcodes and digit-only phones (Pathways does the same internally)."""
    out = pd.DataFrame()
    out["unique_id"] = df["id"]
    out["source_dataset"] = source
    for col in ["first_name", "surname", "address_line", "school", "email"]:
        s = df[col].astype("string").str.lower().str.replace(r"[^a-z0-9 @.]", "", regex=True)
        out[col] = s.str.strip().replace("", pd.NA)
    pc = df["postcode"].astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    out["postcode"] = (pc.str[:-3] + " " + pc.str[-3:]).where(pc.str.len() >= 5)
    digits = df["phone"].astype("string").str.replace(r"\D", "", regex=True)
    out["phone"] = digits.str[-10:].where(digits.str.len() >= 9)
    # Dates come in several layouts in the corrupted lists: a user would bring them to ISO
    # first (DateOfBirthComparison needs that); what is no date becomes null.
    raw = df["dob"].astype("string")
    iso = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    for fmt in ["%Y%m%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"]:
        iso = iso.fillna(pd.to_datetime(raw, format=fmt, errors="coerce"))
    out["dob"] = iso.dt.strftime("%Y-%m-%d").astype("string")
    out["birth_year"] = out["dob"].str[:4].fillna(df["approx_birth_year"].astype("string").str[:4])
    out["gender"] = df["gender"].astype("string")
    out["first_initial"] = out["first_name"].str[:1]
    out["surname_initial"] = out["surname"].str[:1]
    return out


def cpu_seconds() -> float:
    """User plus system CPU time of this process, DuckDB's worker threads included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def clean_febrl(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """FEBRL fields are lower-case already; dates stay as the YYYYMMDD text they are, since
    many are impossible dates (19751402) that a date comparison would throw away."""
    out = df.copy()
    out = out.rename(columns={"id": "unique_id"})
    out["source_dataset"] = source
    out["birth_year"] = out["date_of_birth"].str[:4]
    return out


def febrl_settings() -> SettingsCreator:
    """Every field compared on its own, fuzzy where typing errors are expected; names and
    suburbs with term-frequency adjustment; blocking on each strong field in turn."""
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("address_2", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
            block_on("address_1"),
            block_on("suburb"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def febrl_training(linker: Linker) -> None:
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))


def main() -> None:
    layout, a_path, b_path, out_path = sys.argv[1:5]
    logging.getLogger("splink").setLevel(logging.WARNING)
    start = time.perf_counter()
    cpu_start = cpu_seconds()
    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False).replace("", None)
    if layout == "febrl":
        a, b = clean_febrl(read(a_path), "a"), clean_febrl(read(b_path), "b")
        db_api = DuckDBAPI()
        linker = Linker([db_api.register(a), db_api.register(b)], febrl_settings())
        febrl_training(linker)
        finish(linker, start, cpu_start, out_path)
        return
    a = clean(read(a_path), "a")
    b = clean(read(b_path), "b")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.JaroWinklerAtThresholds("address_line", [0.9]),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("school", [0.88]),
            cl.ExactMatch("gender"),
            cl.EmailComparison("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("surname", "birth_year"),
            block_on("dob"),
            block_on("postcode", "first_initial"),
            block_on("phone"),
            block_on("first_name", "surname_initial"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(a), db_api.register(b)], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("surname", "birth_year")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode", "first_initial")
    )
    finish(linker, start, cpu_start, out_path)


def finish(linker: Linker, start: float, cpu_start: float, out_path: str) -> None:
    """Scores every blocked pair (so blocking recall can be measured) and writes them; the
    time stops before writing."""
    pred = linker.inference.predict().as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    # Splink orders each pair by source dataset: "a" is always on the left in link_only.
    pairs = pred[["unique_id_l", "unique_id_r", "match_probability"]]
    pairs.columns = ["a_id", "b_id", "probability"]
    pairs.to_csv(out_path, index=False)
    print(f"seconds={elapsed:.3f} cpu_seconds={cpu:.3f}")


if __name__ == "__main__":
    main()
