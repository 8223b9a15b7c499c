"""Runs Splink (DuckDB backend) on two generated CSV lists and writes scored pairs.

Usage: splink_run.py A.csv B.csv OUT.csv
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
    out["dob"] = df["dob"].astype("string")
    out["birth_year"] = out["dob"].str[:4].fillna(df["approx_birth_year"].astype("string").str[:4])
    out["gender"] = df["gender"].astype("string")
    out["first_initial"] = out["first_name"].str[:1]
    out["surname_initial"] = out["surname"].str[:1]
    return out


def cpu_seconds() -> float:
    """User plus system CPU time of this process, DuckDB's worker threads included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    a_path, b_path, out_path = sys.argv[1:4]
    logging.getLogger("splink").setLevel(logging.WARNING)
    start = time.perf_counter()
    cpu_start = cpu_seconds()
    a = clean(pd.read_csv(a_path, dtype=str, keep_default_na=False).replace("", None), "a")
    b = clean(pd.read_csv(b_path, dtype=str, keep_default_na=False).replace("", None), "b")
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
    pred = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    # Splink orders each pair by source dataset: "a" is always on the left in link_only.
    pairs = pred[["unique_id_l", "unique_id_r", "match_probability"]]
    pairs.columns = ["a_id", "b_id", "probability"]
    pairs.to_csv(out_path, index=False)
    print(f"seconds={elapsed:.3f} cpu_seconds={cpu:.3f}")


if __name__ == "__main__":
    main()
