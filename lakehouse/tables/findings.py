"""Gold correlation findings and discovery runs (with provenance and run-to-run comparison)."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

CORRELATION_RUNS = register(
    TableSpec(
        name="gold.correlation_runs",
        description=(
            "One row per correlation discovery run: inputs with their Delta versions, parameters, seed, "
            "counts and the comparison with the previous run of the same scope."
        ),
        columns=(
            col("run_id", pa.string(), "Unique id of the discovery run.", nullable=False),
            col(
                "scope",
                pa.string(),
                "What was analysed (input tables/files); runs of one scope are compared.",
                nullable=False,
            ),
            col("started_at", TS, "When the run started (UTC).", nullable=False),
            col("finished_at", TS, "When the run finished (UTC).", nullable=False),
            col("inputs", pa.string(), "JSON list of input tables/files with their Delta versions.", nullable=False),
            col("parameters", pa.string(), "JSON of every discovery option used.", nullable=False),
            col("seed", pa.int64(), "Random seed of the null draws.", nullable=False),
            col("series", pa.int64(), "Series analysed after alignment."),
            col("steps", pa.int64(), "Aligned time steps."),
            col("pairs", pa.int64(), "Pairs tested."),
            col("tested", pa.int64(), "Hypotheses explored: pairs x lags."),
            col("draws", pa.int64(), "Null draws shared by all pairs."),
            col("significant", pa.int64(), "Findings with q at or below the FDR level."),
            col("compared_to", pa.string(), "run_id of the previous run of the same scope, if any."),
            col("new", pa.int64(), "Significant now, not in the previous run."),
            col("strengthened", pa.int64(), "Significant in both, |r| up by >= 0.05 or q down 10x."),
            col("weakened", pa.int64(), "Significant in both, |r| down by >= 0.05 or q up 10x."),
            col("vanished", pa.int64(), "Significant before, not now."),
            col("wall_s", pa.float64(), "Wall time of the run in seconds."),
        ),
        keys=("run_id",),
        synonyms=("correlation runs", "discovery runs"),
    )
)

CORRELATION_FINDINGS = register(
    TableSpec(
        name="gold.correlation_findings",
        description=(
            "Correlation findings per run: pair, lag (positive = a leads b), adjusted and raw r, confidence "
            "interval, n, effective n, p, q, warnings, confounder hints, Granger precedence and the change "
            "since the previous run. Correlation is not causation; every row carries that caveat."
        ),
        columns=(
            col("run_id", pa.string(), "Discovery run that produced the finding.", nullable=False),
            col(
                "finding_id", pa.string(), "Stable id of the pair (same across runs): hash of a and b.", nullable=False
            ),
            col("a", pa.string(), "First series id.", nullable=False),
            col("b", pa.string(), "Second series id.", nullable=False),
            col("lag", pa.int64(), "Best lag in steps; positive means a leads b.", nullable=False),
            col("r", pa.float64(), "Correlation after adjustment (detrend/calendar/differencing) at the lag."),
            col("r_raw", pa.float64(), "Correlation of the unadjusted series at the lag."),
            col("ci_low", pa.float64(), "Lower 95% confidence bound of r (Fisher z with effective n)."),
            col("ci_high", pa.float64(), "Upper 95% confidence bound of r."),
            col("n", pa.int64(), "Aligned observations at the lag."),
            col("n_eff", pa.float64(), "Effective sample size given both series' autocorrelation."),
            col("p", pa.float64(), "p-value of the best-lag statistic under the autocorrelation-respecting null."),
            col("q", pa.float64(), "Multiple-testing adjusted p (BH/BY q-value or maxT FWER p)."),
            col("significant", pa.bool_(), "q at or below the run's FDR level.", nullable=False),
            col("method", pa.string(), "pearson or spearman."),
            col("null", pa.string(), "Null distribution used (circular shift, block or iid permutation)."),
            col("correction", pa.string(), "bh, by or maxt."),
            col(
                "warnings",
                pa.list_(pa.string()),
                "Caveats: shared trend, non-stationarity, low n, outliers, seasonality.",
            ),
            col("partial_r_calendar", pa.float64(), "Partial r controlling for calendar and trend."),
            col("third_series", pa.string(), "Series most correlated with both (possible confounder)."),
            col("partial_r_third", pa.float64(), "Partial r controlling for third_series."),
            col("granger_p_ab", pa.float64(), "Granger test p that a's past helps predict b (precedence only)."),
            col("granger_p_ba", pa.float64(), "Granger test p that b's past helps predict a."),
            col("precedence", pa.string(), "Temporal precedence in words (never causation)."),
            col("caveat", pa.string(), "The causation caveat."),
            col(
                "change",
                pa.string(),
                "baseline (first run), new, strengthened, weakened, unchanged or vanished vs the previous run; "
                "construction for pairs related by construction.",
            ),
            col("r_previous", pa.float64(), "r of the pair in the previous run, if it was significant there."),
            col("q_previous", pa.float64(), "q of the pair in the previous run."),
            col("test", pa.string(), "correlation (lagged r) or event (co-occurring peaks/troughs); q is over both."),
            col(
                "relation",
                pa.string(),
                "discovery, or construction (identity, component of a total, same quantity): not a discovery.",
            ),
            col("frequency", pa.string(), "Frequency the pair was aligned at (the coarser of its two series)."),
            col("cross_domain", pa.bool_(), "The two series come from different domains/systems."),
            col("rank", pa.int64(), "Position in the run's ranking (cross-domain, strength, novelty); 1 = first."),
        ),
        keys=("run_id", "finding_id"),
        synonyms=("findings", "correlations", "relationships", "what moves together"),
    )
)
