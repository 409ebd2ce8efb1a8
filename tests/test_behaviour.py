"""Behavioural fingerprints and their LSH nearest neighbours: on a small case ingested by the real ingest, on
hand-built events, and on hand-made vectors against a brute-force k-nearest-neighbour reference."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from forensics.casefiles import EVENT_SCHEMA
from forensics.codes import ACCOUNT, AccountOrder, account_codes, decode, mix64, xxh64
from forensics.detect.behaviour import BehaviourParams, behaviour_cells, behaviour_evidence, behaviour_pairs, behaviour_vectors
from forensics.detect.facts import event_facts, hash_key
from forensics.detect.features import collect_features
from forensics.detect.groups import FactStore
from forensics.ingest import IngestOptions, run_ingest
from forensics.keys import CaseKey

from conftest import TEST_KEY_HEX, write_key, xxh64_reference

T0 = datetime(2026, 5, 4, tzinfo=timezone.utc)
WORDS = "apple river stone cloud engine garden silver market window forest yellow bridge candle ocean tiger".split()
BOTS = [f"bot{b}" for b in range(6)]
USERS = [f"user{u}" for u in range(10)]
DIM = 144 + 7 + 32 + 4 + 8 + 16  # time of day, weekday, skeleton sketch, scalars, models, user agents


# ------------------------------------------------------------------------------------------ a small ingested case


def write_logs(path: Path) -> Path:
    """Six bots send 40 requests each at the same ten clock times a day (seconds apart), the same templated
    prompt with two words changed, one model and one user agent. Ten people send 40 requests each around
    their own peak hour, with assorted prompts, models and user agents. `tiny` sends five bot-like requests."""
    rng = np.random.default_rng(17)
    rows = []
    slots = [(2, 5), (2, 15), (7, 35), (13, 45), (21, 55), (2, 10), (2, 20), (7, 40), (13, 50), (22, 0)]
    for b, bot in enumerate(BOTS):
        for day in range(4):
            for h, m in slots:
                t = T0 + timedelta(days=day, hours=h, minutes=m, seconds=3 * b + int(rng.integers(0, 20)))
                w = rng.choice(WORDS, 2)
                rows.append(dict(account_id=bot, timestamp=t, ip=f"198.51.100.{b}", user_agent="batch-client/2.1",
                                 model="model-x", prompt=f"Translate the following text into French: {w[0]} {w[1]}",
                                 input_tokens=40, output_tokens=60))
    prompts = ["What is the capital of {}?", "Write a poem about {} and {}", "How do I fix my {} when it breaks at night",
               "Summarise this article on {} for me please", "Give me three ideas for a {} party with {}",
               "Explain why {} is better than {}", "Can you help me plan a trip to the {}", "List ten facts about {}"]
    models = ["model-x", "model-y", "model-z", "model-mini"]
    agents = ["Mozilla/5.0 (Windows)", "Mozilla/5.0 (Mac)", "curl/8.0", "python-requests/2.31", "Mozilla/5.0 (Linux)"]
    for u, user in enumerate(USERS):
        peak = int(rng.integers(0, 24))
        for _ in range(40):
            hour = int((peak + rng.normal(0, 4)) % 24)
            t = T0 + timedelta(days=int(rng.integers(0, 4)), hours=hour, minutes=int(rng.integers(0, 60)),
                               seconds=int(rng.integers(0, 60)))
            rows.append(dict(account_id=user, timestamp=t, ip=f"203.0.113.{u}",
                             user_agent=agents[int(rng.integers(0, len(agents)))], model=models[int(rng.integers(0, 4))],
                             prompt=prompts[int(rng.integers(0, len(prompts)))].format(*rng.choice(WORDS, 2)),
                             input_tokens=int(rng.integers(5, 400)), output_tokens=int(rng.integers(5, 900))))
    for i in range(5):
        rows.append(dict(account_id="tiny", timestamp=T0 + timedelta(hours=2, minutes=5, seconds=i), ip="192.0.2.1",
                         user_agent="batch-client/2.1", model="model-x", prompt="Translate the following text into French: a b",
                         input_tokens=40, output_tokens=60))
    for i, r in enumerate(rows):
        r["request_id"] = f"r{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC"))).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("behaviour")
    key = write_key(root / "case.key")
    run_ingest([str(write_logs(root / "logs" / "log.parquet"))], root / "case", IngestOptions(key_file=key))
    events = pl.read_parquet(root / "case" / "events" / "*.parquet")
    ids = BOTS + USERS + ["tiny"]
    raw = dict(zip(CaseKey(bytes.fromhex(TEST_KEY_HEX)).pseudonyms("account", ids), ids))
    return {"events": events, "raw": raw, "root": root}


def behaviour(events: pl.DataFrame, params: BehaviourParams, scratch: Path) -> dict:
    """The real stages: account codes, features, the activity order, the fact store, vectors and pairs."""
    lazy = events.lazy()
    codes = account_codes(lazy)
    features = collect_features(lazy, None, codes)
    order = AccountOrder.from_digests(features["activity_digest"].to_numpy())
    store = FactStore(scratch)
    for kind in ("skeleton", "user_agent"):
        store.put(kind, event_facts(kind, lazy, codes))
    active, vectors = behaviour_vectors(behaviour_cells(lazy, codes), features, store, params)
    pairs = behaviour_pairs(active, vectors, order, params)
    names = decode(codes)
    return {
        "names": names, "active": active, "vectors": vectors, "pairs": pairs,
        "links": {frozenset((names[a], names[b])): c for a, b, c in pairs.rows()},
        "row_of": {names[int(c)]: i for i, c in enumerate(active)},
    }


def test_near_identical_accounts_are_linked_and_dissimilar_ones_are_not(ingested, tmp_path) -> None:
    out = behaviour(ingested["events"], BehaviourParams(), tmp_path)
    raw = ingested["raw"]
    links = {frozenset(raw[n] for n in pair): c for pair, c in out["links"].items()}
    assert set(links) == {frozenset(p) for p in itertools.combinations(BOTS, 2)}
    # Each link's cosine is the one of the two fingerprints, and above the minimum.
    v = out["vectors"].astype(np.float64)
    for pair, cosine in out["links"].items():
        a, b = (out["row_of"][n] for n in pair)
        assert cosine == pytest.approx(float(v[a] @ v[b]), abs=1e-6)
        assert cosine >= 0.9
    # Nobody else comes close: the people's fingerprints are far from the bots' and from each other's.
    by_raw = {raw[n]: i for n, i in out["row_of"].items()}
    for x, y in itertools.combinations(sorted(by_raw), 2):
        if not (x in BOTS and y in BOTS):
            assert float(v[by_raw[x]] @ v[by_raw[y]]) < 0.85, (x, y)


def test_accounts_under_min_requests_get_no_vector(ingested, tmp_path) -> None:
    events = ingested["events"]
    raw = ingested["raw"]
    requests = dict(events.group_by(ACCOUNT).len().iter_rows())
    assert requests[next(n for n, r in raw.items() if r == "tiny")] == 5
    for minimum in (20, 5, 41):
        out = behaviour(events, BehaviourParams(min_requests=minimum), tmp_path / str(minimum))
        have = {raw[n] for n in out["row_of"]}
        assert have == ({raw[n] for n, c in requests.items() if c >= minimum} if minimum <= 40 else set())
        assert len(out["active"]) == len(have)
        if have:
            assert out["vectors"].shape == (len(have), DIM)
            assert np.allclose(np.linalg.norm(out["vectors"], axis=1), 1.0, atol=1e-5)
        else:
            assert out["pairs"].height == 0


def test_behaviour_is_deterministic_and_independent_of_code_numbering(ingested, tmp_path) -> None:
    events = ingested["events"]
    first = behaviour(events, BehaviourParams(), tmp_path / "1")
    second = behaviour(events, BehaviourParams(), tmp_path / "2")
    assert first["pairs"].equals(second["pairs"])
    assert np.array_equal(first["vectors"], second["vectors"])
    # Rename every account so that pseudonym (and so code) order is reversed; the activity order follows the
    # accounts, not their names.
    names = sorted(events[ACCOUNT].unique())
    renamed = dict(zip(names, [f"{999 - i:03d}" + n[3:] for i, n in enumerate(names)]))
    relabelled = behaviour(events.with_columns(pl.col(ACCOUNT).replace_strict(renamed)), BehaviourParams(), tmp_path / "3")
    assert [int(c) for c in relabelled["active"]] != [int(c) for c in first["active"]] or len(first["active"]) < 2
    back = {v: k for k, v in renamed.items()}
    moved = {frozenset(back[n] for n in pair): c for pair, c in relabelled["links"].items()}
    assert moved.keys() == first["links"].keys()
    for pair, cosine in first["links"].items():
        assert moved[pair] == pytest.approx(cosine, abs=1e-6)
    for n, i in first["row_of"].items():
        assert np.allclose(relabelled["vectors"][relabelled["row_of"][renamed[n]]], first["vectors"][i], atol=1e-6)


# ------------------------------------------------------------------------------------------ the case key


def events_frame(rows: list[dict]) -> pl.DataFrame:
    for i, r in enumerate(rows):
        r.setdefault("request_id", f"r{i}")
    return pl.DataFrame({c: pl.Series(c, [r.get(c) for r in rows], dtype=t) for c, t in EVENT_SCHEMA.items()})


def skeleton_bin(value: str) -> int:
    key = pl.select(hash_key(pl.lit(value, dtype=pl.String))).item()
    return int(mix64(np.array([key], dtype=np.uint64))[0] % np.uint64(32))


def test_behaviour_links_do_not_depend_on_the_fingerprint_values(tmp_path) -> None:
    """Accounts A and B act alike (clock, model, user agent, sizes) but use different prompt skeletons. A new
    case key renames every fingerprint and nothing else; here only A's and B's skeleton names change, from a
    pair that falls in one of the 32 sketch bins to a pair that does not."""
    background = [f"bg-skeleton-{i}" for i in range(6)]
    taken = {skeleton_bin(s) for s in background}
    free = [s for s in (f"skeleton-{i}" for i in range(300)) if skeleton_bin(s) not in taken]
    together = next((a, b) for a, b in itertools.combinations(free, 2) if skeleton_bin(a) == skeleton_bin(b))
    apart = next((a, b) for a, b in itertools.combinations(free, 2) if skeleton_bin(a) != skeleton_bin(b))

    def case(sa: str, sb: str) -> pl.DataFrame:
        rng = np.random.default_rng(3)
        rows = []
        for i in range(30):
            t = T0 + timedelta(days=i // 3, hours=5 * (i % 3) + 1, minutes=7)
            for account, skeleton, lag in (("A", sa, 0), ("B", sb, 11)):
                rows.append(dict(account_pseudonym=account, timestamp=t + timedelta(seconds=lag), model="m",
                                 user_agent_fingerprint="ua", prompt_skeleton_fingerprint=skeleton, prompt_chars=120,
                                 input_tokens=30, output_tokens=50))
        for u in range(8):
            for _ in range(30):
                t = T0 + timedelta(days=int(rng.integers(0, 10)), hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60)))
                rows.append(dict(account_pseudonym=f"C{u}", timestamp=t, model=["m", "n", "o"][int(rng.integers(0, 3))],
                                 user_agent_fingerprint=f"ua{int(rng.integers(0, 4))}",
                                 prompt_skeleton_fingerprint=background[int(rng.integers(0, 6))],
                                 prompt_chars=int(rng.integers(10, 500)), input_tokens=int(rng.integers(5, 500)),
                                 output_tokens=int(rng.integers(5, 900))))
        return events_frame(rows)

    linked = []
    for n, (sa, sb) in enumerate((together, apart)):
        out = behaviour(case(sa, sb), BehaviourParams(), tmp_path / str(n))
        linked.append(frozenset(("A", "B")) in out["links"])
    assert linked[0] == linked[1]


def test_model_bins_are_splitmix64_of_the_model_names_xxh64(tmp_path) -> None:
    """A model's bin in the model block is splitmix64(XXH64(its name, seed 0)) mod 8, a hash defined by its
    algorithm: pinned, and checked against the specification, so that an upgrade that moved a model to another
    bin (and so changed behaviour links) fails here."""
    models = ["model-x", "model-y", "model-z", "model-mini"]
    rows = [
        dict(account_pseudonym=f"A{i}", timestamp=T0 + timedelta(hours=r, minutes=7 * i), model=model)
        for i, model in enumerate(models) for r in range(25)
    ]
    out = behaviour(events_frame(rows), BehaviourParams(), tmp_path)
    start = 144 + 7 + 32 + 4  # time of day, weekday, skeleton sketch, scalars
    block = out["vectors"][:, start:start + 8]
    hashes = [xxh64_reference(m.encode(), 0) for m in models]
    assert [pl.select(xxh64(pl.lit(m))).item() for m in models] == hashes
    assert hashes[0] == 11592503467642556687
    bins = [int(b) for b in mix64(np.array(hashes, dtype=np.uint64)) % np.uint64(8)]
    assert bins == [6, 3, 5, 3]
    assert set(np.flatnonzero(np.abs(block).sum(axis=0) > 1e-6).tolist()) == set(bins)
    # model-y and model-mini share bin 3: their accounts' model blocks are the same.
    rows_of = [out["row_of"][f"A{i}"] for i in range(4)]
    assert np.allclose(block[rows_of[1]], block[rows_of[3]])
    assert not np.allclose(block[rows_of[0]], block[rows_of[1]])


def test_requests_without_a_model_are_left_out_of_the_model_mix(tmp_path) -> None:
    """A request whose model is unknown counts in no model bin, and does not move the other requests' bins: B's
    model mix (half its requests on model-x, half unknown) is A's (all on model-x)."""
    rows = [dict(account_pseudonym=account, timestamp=T0 + timedelta(hours=r, minutes=minute), model=model)
            for account, minute, models in (("A", 0, ["model-x"]), ("B", 20, ["model-x", None]), ("C", 40, ["model-z"]))
            for r in range(40) for model in [models[r % len(models)]]]
    out = behaviour(events_frame(rows), BehaviourParams(), tmp_path)
    start = 144 + 7 + 32 + 4
    block = out["vectors"][:, start:start + 8]
    a, b, c = (out["row_of"][n] for n in "ABC")
    assert set(np.flatnonzero(np.abs(block).sum(axis=0) > 1e-6).tolist()) == {6, 5}  # model-x and model-z
    assert np.allclose(block[a], block[b]) and not np.allclose(block[a], block[c])


def test_behaviour_cells_count_each_accounts_requests_per_slot_weekday_and_model_bin() -> None:
    """behaviour_cells against a count written out here: the 10-minute slot of the day, the weekday (Monday 0) and
    the model's bin (splitmix64 of its XXH64, mod 8, from the specification) of every request; no model bin for
    a request without a model, and nothing for an account that is not coded."""
    rng = np.random.default_rng(5)
    models = ["model-x", "model-y", "model-z", None]
    rows = [dict(account_pseudonym=f"A{int(rng.integers(0, 7))}", timestamp=T0 + timedelta(minutes=int(rng.integers(0, 60 * 24 * 9))),
                 model=models[int(rng.integers(0, 4))]) for _ in range(600)]
    events = events_frame(rows)
    codes = account_codes(events.lazy().filter(pl.col(ACCOUNT) != "A6"))
    code_of = dict(zip(codes[ACCOUNT].to_list(), codes["code"].to_list()))
    bin_of = {m: int(mix64(np.array([xxh64_reference(m.encode(), 0)], dtype=np.uint64))[0] % np.uint64(8)) for m in models if m}
    expected: dict[tuple[int, int], int] = {}
    for r in rows:
        if r["account_pseudonym"] not in code_of:
            continue
        code, t = code_of[r["account_pseudonym"]], r["timestamp"]
        cells = [(t.hour * 60 + t.minute) // 10, 144 + t.weekday()] + ([151 + bin_of[r["model"]]] if r["model"] else [])
        for cell in cells:
            expected[code, cell] = expected.get((code, cell), 0) + 1
    got = behaviour_cells(events.lazy(), codes)
    assert got.schema == pl.Schema({"code": pl.UInt32, "cell": pl.UInt16, "requests": pl.Int64})
    assert {(c, cell): n for c, cell, n in got.iter_rows()} == expected
    assert len(code_of) == 6 and got["code"].max() == 5


# ------------------------------------------------------------------------------------------ hand-made vectors


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def groups_of_vectors(seed: int, groups: int = 3, size: int = 12, loners: int = 20, dim: int = 48, noise: float = 0.05):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(groups):
        base = rng.standard_normal(dim)
        rows += [base + noise * rng.standard_normal(dim) for _ in range(size)]
    rows += [rng.standard_normal(dim) for _ in range(loners)]
    return unit(np.array(rows))


def brute_knn(vectors: np.ndarray, rank: np.ndarray, neighbours: int, min_cosine: float) -> dict[tuple[int, int], float]:
    """Each account's `neighbours` most similar accounts at min_cosine or more (ties: lower rank first); the
    union of those choices, as row pairs (i < j) with their cosine."""
    v = vectors.astype(np.float64)
    n = len(v)
    chosen = {}
    for u in range(n):
        cands = sorted(
            (-round(float(v[u] @ v[w]), 6), rank[w], w) for w in range(n) if w != u and float(v[u] @ v[w]) >= min_cosine
        )
        for neg, _, w in cands[:neighbours]:
            chosen[(min(u, w), max(u, w))] = -neg
    return chosen


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("neighbours", [1, 3, 11])
def test_pairs_are_each_accounts_nearest_neighbours(seed: int, neighbours: int) -> None:
    """With buckets never salted (partners above the case size), every pair of near-identical accounts meets
    in some hash table, and the result is exactly the brute-force union of each account's nearest."""
    vectors = groups_of_vectors(seed)
    n = len(vectors)
    rng = np.random.default_rng(100 + seed)
    active = np.sort(rng.choice(10 * n, size=n, replace=False))  # codes with gaps
    order = AccountOrder.from_digests(rng.integers(0, 2**63, size=10 * n, dtype=np.int64).astype(np.uint64))
    params = BehaviourParams(neighbours=neighbours, partners=2 * n)
    pairs = behaviour_pairs(active, vectors, order, params)
    want = brute_knn(vectors, order.rank[active], neighbours, params.min_cosine)
    row = {int(c): i for i, c in enumerate(active)}
    got = {(row[a], row[b]): c for a, b, c in pairs.rows()}
    assert got.keys() == want.keys()
    for pair, cosine in want.items():
        assert got[pair] == pytest.approx(cosine, abs=1e-6)
    assert pairs.select("src", "dst").rows() == sorted(pairs.select("src", "dst").rows())
    assert all(a < b for a, b in pairs.select("src", "dst").rows())
    # Every account chooses at most `neighbours`: at most n * neighbours pairs, none between groups or loners.
    assert len(got) <= n * neighbours
    assert all(i // 12 == j // 12 and j < 36 for i, j in got)
    if neighbours >= 11:
        assert len(got) == 3 * 66


def test_min_cosine_is_the_threshold() -> None:
    # Four accounts in a plane at angles 0, 3, 8 and 90 degrees: cosines cos 3 = 0.9986, cos 5 = 0.9962, cos 8 = 0.9903.
    degrees = np.array([0.0, 3.0, 8.0, 90.0])
    angles = np.radians(degrees)
    vectors = unit(np.column_stack([np.cos(angles), np.sin(angles), np.zeros(4)]))
    order = AccountOrder.from_digests(np.arange(4, dtype=np.uint64))
    cases = ((0.998, {(0, 1)}), (0.995, {(0, 1), (1, 2)}), (0.985, {(0, 1), (1, 2), (0, 2)}), (0.9995, set()))
    for minimum, want in cases:
        pairs = behaviour_pairs(np.arange(4), vectors, order, BehaviourParams(min_cosine=minimum, partners=8))
        assert set(pairs.select("src", "dst").rows()) == want, minimum
        for a, b, c in pairs.rows():
            assert c == pytest.approx(np.cos(np.radians(degrees[b] - degrees[a])), abs=1e-6)


def test_large_buckets_stay_connected_at_linear_cost() -> None:
    """400 near-identical accounts fill whole buckets: each meets only its ring neighbours there, yet the group
    stays one connected piece and no account picks more than `neighbours`."""
    rng = np.random.default_rng(8)
    base = rng.standard_normal(32)
    vectors = unit(base + 0.02 * rng.standard_normal((400, 32)))
    order = AccountOrder.from_digests(rng.integers(0, 2**63, size=400, dtype=np.int64).astype(np.uint64))
    params = BehaviourParams(neighbours=4)
    pairs = behaviour_pairs(np.arange(400), vectors, order, params)
    a, b = pairs["src"].to_numpy(), pairs["dst"].to_numpy()
    assert len(a) <= 400 * 4
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(400, 400))
    assert connected_components(graph, directed=False)[0] == 1
    assert len(np.union1d(a, b)) == 400


def test_pairs_do_not_depend_on_code_numbering_when_the_order_follows_the_accounts() -> None:
    vectors = groups_of_vectors(4)
    n = len(vectors)
    rng = np.random.default_rng(9)
    digest = rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)
    params = BehaviourParams(neighbours=3)
    base = behaviour_pairs(np.arange(n), vectors, AccountOrder.from_digests(digest), params)
    # Account i gets code perm[i]: its vector moves to row perm[i] and its digest with it.
    perm = rng.permutation(n)
    moved = np.empty_like(vectors)
    moved[perm] = vectors
    new_digest = np.empty_like(digest)
    new_digest[perm] = digest
    again = behaviour_pairs(np.arange(n), moved, AccountOrder.from_digests(new_digest), params)
    want = {tuple(sorted((int(perm[a]), int(perm[b])))): c for a, b, c in base.rows()}
    got = {(a, b): c for a, b, c in again.rows()}
    assert got.keys() == want.keys()
    for pair, c in want.items():
        assert got[pair] == pytest.approx(c, abs=1e-6)
    assert behaviour_pairs(np.arange(n), vectors, AccountOrder.from_digests(digest), params).equals(base)


def test_fewer_than_two_accounts_or_no_features_give_no_pairs() -> None:
    order = AccountOrder.from_digests(np.arange(3, dtype=np.uint64))
    assert behaviour_pairs(np.array([1]), unit(np.ones((1, 4))), order, BehaviourParams()).height == 0
    assert behaviour_pairs(np.array([0, 1]), np.zeros((2, 0), dtype=np.float32), order, BehaviourParams()).height == 0


def test_behaviour_evidence_is_linear_from_the_minimum_to_identity() -> None:
    params = BehaviourParams(min_cosine=0.9, evidence_max=4.0)
    cos = pl.DataFrame({"c": [0.5, 0.9, 0.925, 0.95, 1.0]})
    got = cos.select(behaviour_evidence(pl.col("c"), params).alias("e"))["e"].to_list()
    assert got == pytest.approx([0.0, 0.0, 1.0, 2.0, 4.0])
