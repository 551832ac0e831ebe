"""Reconciliation quality on messy synthetic customers/products with known truth, and the normalisers."""

from __future__ import annotations

import pickle
from datetime import date

import numpy as np
import pytest

from connectors.synth.entities import generate
from jobs.reconcile import engine, normalize
from jobs.reconcile.cluster import PriorState, assign
from jobs.reconcile.errors import ModelFitError, NoRecordsError, UnknownEntityError


@pytest.fixture(scope="module")
def customers_run():
    synth = generate("customers", 2500, seed=11)
    return synth, engine.run(synth.records, "customers", config=engine.EngineConfig(random_pairs=50_000))


def test_customers_pairwise_precision_recall(customers_run):
    synth, result = customers_run
    scores = engine.pairwise_scores(result.assignment.entity_of, synth.truth)
    assert scores["true_pairs"] > 2000
    assert scores["precision"] >= 0.95, scores
    assert scores["recall"] >= 0.95, scores


def test_products_pairwise_precision_recall_with_embeddings():
    synth = generate("products", 1500, seed=5)
    embedder_cfg = engine.EngineConfig(random_pairs=50_000, embed_max_texts=150)
    result = engine.run(synth.records, "products", config=embedder_cfg)
    scores = engine.pairwise_scores(result.assignment.entity_of, synth.truth)
    assert scores["precision"] >= 0.95, scores
    assert scores["recall"] >= 0.95, scores
    assert 0 < result.embedded_texts <= 150  # the free-form title comparison really ran
    semantic = [c.name for c in result.model.comparisons].index("title_semantic")
    assert result.model.weights()[semantic][-1] > 1  # high cosine is evidence for a match


def test_match_probabilities_are_calibrated(customers_run):
    """Among candidate pairs, the mean predicted probability per bin tracks the true match rate."""
    synth, result = customers_run
    truth = np.array(synth.entity_ids)
    order = {k: x for x, k in enumerate(f"{r['source']}:{r['source_id']}" for r in synth.records)}
    idx = np.array([order[str(k)] for k in result.features.keys])
    is_match = truth[idx][result.i] == truth[idx][result.j]
    p = result.p
    bins = np.clip((p * 10).astype(int), 0, 9)
    ece = sum((bins == b).sum() / len(p) * abs(p[bins == b].mean() - is_match[bins == b].mean()) for b in set(bins))
    assert ece < 0.03, ece
    brier = float(np.mean((p - is_match) ** 2))
    assert brier < 0.02, brier
    # EM really learnt something: agreeing e-mails carry strong evidence, a different birth date counts against
    desc = result.model.describe()["comparisons"]
    assert desc["email"]["exact"]["weight"] > 5
    assert desc["birth_date"]["different"]["weight"] < -3


def test_blocking_grows_near_linearly():
    small = generate("customers", 1000, seed=2)
    large = generate("customers", 4000, seed=2)
    from jobs.reconcile import blocking, features

    n_small = blocking.candidate_pairs(features.build(small.records, "customers"))[2].pairs
    n_large = blocking.candidate_pairs(features.build(large.records, "customers"))[2].pairs
    ratio = (n_large / len(large.records)) / (n_small / len(small.records))
    assert ratio < 1.5, ratio  # pairs per record stay flat, far from the 4x of all-pairs growth


def test_normalisers():
    assert normalize.person_name("Dr. Warreen, Jasun") == ("jasun warreen", "jasun", "warreen")
    assert normalize.person_name("MRS. ANAÏS DUBOIS")[0] == "anais dubois"
    assert normalize.company("Northwind Labs L.L.C.") == normalize.company("NORTHWIND LABS Inc.") == "northwind labs"
    assert normalize.phone("+1 (547) 308-9456") == normalize.phone("0015473089456") == "5473089456"
    assert normalize.address("Pine Ave 6705") == normalize.address("6705 Pine Avenue") == ("6705", "pine ave")
    assert normalize.country("U.S.A.") == normalize.country("United States") == "US"
    assert normalize.parse_date("25 Apr 1970") == normalize.parse_date("1970-04-25") == date(1970, 4, 25)
    assert normalize.parse_date("25/4/1970") == date(1970, 4, 25)
    assert normalize.date_key("06/01/1954") == normalize.date_key("1.6.1954")
    assert [normalize.money(x) for x in ("1.234,50", "1,234.50", "$1234.5", "EUR 1234,50")] == [1234.5] * 4
    assert normalize.size("0.75 L") == normalize.size("75cl") == normalize.size("750 ml") == (750.0, "ml")
    assert normalize.size("1 kg") == (1000.0, "g")
    assert normalize.size("25.4 fl oz")[0] == pytest.approx(751.2, abs=0.2)
    assert normalize.sku("ss-054663") == normalize.sku("SS 54663") == "SS54663"


def test_engine_errors_and_pickling():
    with pytest.raises(NoRecordsError):
        engine.run([], "customers")
    with pytest.raises(UnknownEntityError):
        engine.run([{"source": "a", "source_id": "1"}], "suppliers")  # type: ignore[arg-type]
    few = generate("customers", 3, seed=1, duplicate_rate=0.0).records
    with pytest.raises(ModelFitError):
        engine.run(few, "customers")
    for exc in (NoRecordsError("x", hint="h"), UnknownEntityError("y"), ModelFitError("z", hint="w")):
        clone = pickle.loads(pickle.dumps(exc))
        assert type(clone) is type(exc) and clone.message == exc.message and clone.hint == exc.hint


def test_assign_merge_and_split_rules():
    keys = np.array(["s:a", "s:b", "s:c", "s:d"], dtype=object)
    hashes = np.array(["1", "2", "3", "4"], dtype=object)
    prior = PriorState({"s:a": "E1", "s:b": "E2"}, {"s:a": "1", "s:b": "2"}, {"E1": "active", "E2": "active"})
    # c is new and matches both a and b -> E1 and E2 merge; d matches nothing -> new entity
    i, j, p = np.array([0, 1]), np.array([2, 2]), np.array([0.97, 0.91])
    asg = assign(keys, hashes, i, j, p, prior, prefix="t")
    assert asg.entity_of["s:a"] == asg.entity_of["s:b"] == asg.entity_of["s:c"]
    merge = [e for e in asg.events if e["event"] == "merge"]
    assert len(merge) == 1 and "s:c" in merge[0]["reason"]
    assert asg.statuses[merge[0]["other_entity_id"]][0] == "merged"
    assert asg.entity_of["s:d"].startswith("t_")
    # now c changes and no longer matches: the entity splits; the larger part keeps the id
    survivor = asg.entity_of["s:a"]
    prior2 = PriorState(
        dict(asg.entity_of), {str(k): str(h) for k, h in zip(keys, hashes, strict=True)}, {survivor: "active"}
    )
    hashes2 = np.array(["1", "2", "3-changed", "4"], dtype=object)
    asg2 = assign(keys, hashes2, np.array([0]), np.array([2]), np.array([0.1]), prior2, prefix="t")
    splits = [e for e in asg2.events if e["event"] == "split"]
    assert len(splits) == 1 and splits[0]["entity_id"] == survivor
    assert asg2.entity_of["s:a"] != asg2.entity_of["s:b"]
    assert survivor in (asg2.entity_of["s:a"], asg2.entity_of["s:b"])
