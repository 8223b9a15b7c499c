"""DuckDB side of the insight benchmark: load the same police.uk CSVs and compute the same
aggregates as Pathways (counts by type, month, LSOA, local authority; the borough's monthly
trend, types, LSOA counts and outcome shares; stop and search by age, object and outcome).

Usage: duckdb_reference.py STREET_GLOB STOP_GLOB LOOKUP_CSV LA_CODE OUT_JSON
Prints timings as JSON lines; writes the aggregates to OUT_JSON for cross-checking.
"""
import json
import sys
import time

import duckdb

street_glob, stop_glob, lookup, la, out_path = sys.argv[1:6]
con = duckdb.connect()
timings = {}


def timed(name, sql):
    t = time.perf_counter()
    rows = con.execute(sql).fetchall()
    timings[name] = (time.perf_counter() - t) * 1000
    print(json.dumps({"query": name, "ms": round(timings[name], 3), "rows": len(rows)}), flush=True)
    return rows


t0 = time.perf_counter()
timed("load street CSVs", f"""CREATE TABLE street AS SELECT * FROM read_csv('{street_glob}', header=true,
    columns={{'Crime ID':'VARCHAR','Month':'VARCHAR','Reported by':'VARCHAR','Falls within':'VARCHAR',
    'Longitude':'DOUBLE','Latitude':'DOUBLE','Location':'VARCHAR','LSOA code':'VARCHAR','LSOA name':'VARCHAR',
    'Crime type':'VARCHAR','Last outcome category':'VARCHAR','Context':'VARCHAR'}})""")
timed("load stop-and-search CSVs", f"""CREATE TABLE stops AS SELECT * FROM read_csv('{stop_glob}', header=true, all_varchar=true)""")
timed("load lookup", f"""CREATE TABLE lookup AS SELECT "LSOA Code" AS lsoa, "Local authority code" AS la
    FROM read_csv('{lookup}', header=true, all_varchar=true)""")
load_ms = (time.perf_counter() - t0) * 1000
res = {}
t1 = time.perf_counter()
res["by_type"] = timed("count by type", 'SELECT "Crime type", count(*) FROM street GROUP BY 1 ORDER BY 1')
res["by_month"] = timed("count by month", 'SELECT "Month", count(*) FROM street GROUP BY 1 ORDER BY 1')
res["by_lsoa"] = timed("count by LSOA", 'SELECT "LSOA code", count(*) FROM street GROUP BY 1 ORDER BY 1')
res["by_la"] = timed("count by local authority", """SELECT coalesce(l.la, CASE WHEN s."LSOA code" IS NULL THEN '(no location)' ELSE '(unknown)' END) AS la,
    count(*) FROM street s LEFT JOIN lookup l ON l.lsoa = s."LSOA code" GROUP BY 1 ORDER BY 1""")
area = f"""(SELECT s.* FROM street s JOIN lookup l ON l.lsoa = s."LSOA code" WHERE l.la = '{la}')"""
res["area_trend"] = timed("borough monthly trend", f"""SELECT "Month", count(*) FILTER (WHERE "Crime type" <> 'Anti-social behaviour'),
    count(*) FILTER (WHERE "Crime type" = 'Anti-social behaviour') FROM {area} GROUP BY 1 ORDER BY 1""")
res["area_monthly_type"] = timed("borough monthly by type", f'SELECT "Month", "Crime type", count(*) FROM {area} GROUP BY 1, 2 ORDER BY 1, 2')
res["area_types"] = timed("borough by type", f'SELECT "Crime type", count(*) FROM {area} GROUP BY 1 ORDER BY 2 DESC')
res["area_lsoa"] = timed("borough by LSOA", f'SELECT "LSOA code", count(*) FROM {area} GROUP BY 1 ORDER BY 1')
res["area_outcomes"] = timed("borough last-outcome shares", f"""SELECT coalesce("Last outcome category", '(no outcome recorded)'), count(*)
    FROM {area} WHERE "Crime type" <> 'Anti-social behaviour' GROUP BY 1 ORDER BY 2 DESC""")
res["stop_age"] = timed("stop and search by age", 'SELECT "Age range", count(*) FROM stops GROUP BY 1 ORDER BY 2 DESC')
res["stop_object"] = timed("stop and search by object", 'SELECT "Object of search", count(*) FROM stops GROUP BY 1 ORDER BY 2 DESC')
res["stop_outcome"] = timed("stop and search by outcome", 'SELECT "Outcome", count(*) FROM stops GROUP BY 1 ORDER BY 2 DESC')
query_ms = (time.perf_counter() - t1) * 1000
print(json.dumps({"duckdb_version": duckdb.__version__, "load_ms": round(load_ms, 1), "queries_ms": round(query_ms, 1),
                  "total_ms": round(load_ms + query_ms, 1)}))
with open(out_path, "w") as f:
    json.dump({k: [list(map(lambda x: x if x is None or isinstance(x, (int, float)) else str(x), r)) for r in v]
               for k, v in res.items()}, f)
