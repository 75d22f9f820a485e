"""The group-sequential design against independent computations: its boundaries against the published Lan-DeMets
tables and against a Monte Carlo of the looks' joint normal law, `sequential_holm` against closed testing by brute
force, and the next round's plan against costs counted by hand; then, by simulation where the truth is known, the
chance of any false verdict in a family of nine claims at every round of seeds, with a data-dependent choice of the
claims that go on, and once the same simulation failing a procedure that tests at every look without spending."""

import functools
import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as scipy_stats

from study import stats
from study.sequential import DEFAULT_LOOKS, Design, plan_round
from test_stats import (BOUND, CLAIMS, FAMILIES, MARGIN, SCENARIOS, directions, false_outcome,
                        frozen_heap, holm_decided, pairs)

assert frozen_heap  # the autouse fixture of test_stats, for statsmodels' Holm in the naive procedure

# --- the boundaries -----------------------------------------------------------------------------------------------
# Lan-DeMets spending, five equally spaced looks, two-sided 5 %: the boundaries for |Z| of the standard table
# (Reboussin, DeMets, Kim & Lan's ld98 / R's ldbounds with 2.5 % a side; gsDesign's sfLDOF and sfLDPocock with
# test.type=2, as in Jennison & Turnbull's examples)
PUBLISHED = {"obrien-fleming": (4.877, 3.357, 2.680, 2.290, 2.031),
             "pocock": (2.438, 2.427, 2.410, 2.397, 2.384)}


@pytest.mark.parametrize("spending", list(PUBLISHED))
def test_five_equally_spaced_looks_have_the_published_lan_demets_boundaries(spending):
    levels = stats.nominal_levels(0.05, (1, 2, 3, 4, 5), spending)
    bounds = scipy_stats.norm.isf(np.array(levels) / 2)
    assert list(bounds) == pytest.approx(PUBLISHED[spending], abs=0.01), f"{spending}: {np.round(bounds, 3)}"


DESIGN_LOOKS = DEFAULT_LOOKS  # the shipped design's looks
PATHS = 1_000_000


@functools.cache
def brownian_looks(looks: tuple[int, ...], paths: int = PATHS) -> np.ndarray:
    """Z at each look of `paths` Brownian motions, Z_k = W(t_k) / sqrt(t_k) at t_k = looks / looks[-1], built from
    independent normal increments (float32, in blocks)."""
    t = np.asarray(looks, dtype=float) / looks[-1]
    rng = np.random.default_rng(2024)
    blocks = []
    for _ in range(paths // 250_000):
        steps = rng.standard_normal((250_000, len(t))) * np.sqrt(np.diff(t, prepend=0.0))
        blocks.append((np.cumsum(steps, axis=1) / np.sqrt(t)).astype(np.float32))
    return np.concatenate(blocks)


def first_crossings(z: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The share of paths whose first crossing is at each look."""
    crossed = z > bounds
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), len(bounds))
    return np.bincount(first, minlength=len(bounds) + 1)[:-1] / len(z)


def test_pocock_levels_spend_their_increments_look_by_look_in_a_monte_carlo_of_the_looks():
    # under the null, the chance that |Z| first crosses its boundary at look k is what the spending function adds
    # between t_{k-1} and t_k, and all of them add up to alpha: 1,000,000 Brownian paths, four standard errors
    alpha = stats.ALPHA / CLAIMS
    t = np.array(DESIGN_LOOKS) / DESIGN_LOOKS[-1]
    levels = np.array(stats.nominal_levels(alpha, DESIGN_LOOKS, "pocock"))
    z = np.abs(brownian_looks(DESIGN_LOOKS))
    seen = first_crossings(z, scipy_stats.norm.isf(levels / 2))
    increments = np.diff(stats.spent(t, alpha, "pocock"), prepend=0.0)
    se = np.sqrt(increments * (1 - increments) / PATHS)
    assert (np.abs(seen - increments) <= 4 * se).all(), f"seen {seen}, spent {increments}"
    assert abs(seen.sum() - alpha) <= 4 * math.sqrt(alpha * (1 - alpha) / PATHS), f"{seen.sum()} for {alpha}"


def test_an_equivalence_test_at_the_nominal_levels_errs_at_most_alpha_over_the_looks():
    # two one-sided tests compare one-sided p-values with the looks' two-sided nominal levels: on the margin (one side
    # binding) the chance that Z crosses the one-sided boundary at some look is then at most alpha
    alpha = stats.ALPHA / CLAIMS
    levels = np.array(stats.nominal_levels(alpha, DESIGN_LOOKS, "pocock"))
    rate = first_crossings(brownian_looks(DESIGN_LOOKS), scipy_stats.norm.isf(levels)).sum()
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / PATHS), f"{rate} for {alpha}"


# --- sequential Holm is closed testing --------------------------------------------------------------------------
@pytest.mark.parametrize("spending", ["pocock", "obrien-fleming"])
def test_sequential_holm_decides_what_closed_testing_decides_by_brute_force(spending):
    # each claim has one or two hypotheses (a difference and an equivalence, which cannot both be true), so the
    # intersections to test take at most one hypothesis of each claim; each intersection J is tested at alpha / |J|
    # over the looks (Bonferroni across J, each hypothesis's level spent over its looks): rejected when some
    # hypothesis of J reached some look k with its p within that look's nominal level. A hypothesis is rejected iff
    # every intersection that holds it is.
    rng = np.random.default_rng([len(spending), 3])
    looks, m = (3, 5, 8, 12), 4
    levels = {size: stats.nominal_levels(stats.ALPHA / size, looks, spending) for size in range(1, m + 1)}
    some_decided, passed_on = 0, 0
    for _ in range(200):
        sizes = rng.integers(1, 3, m)
        reached = rng.integers(1, len(looks) + 1, m)
        ps = [[tuple(10 ** rng.uniform(-4.5, 0, sizes[i])) for _ in range(reached[i])] for i in range(m)]
        hyps = [(i, h) for i in range(m) for h in range(sizes[i])]
        subsets = [J for size in range(1, m + 1) for J in itertools.combinations(hyps, size)
                   if len({i for i, _ in J}) == len(J)]
        rejected = {J: any(ps[i][k][h] <= levels[len(J)][k] for i, h in J for k in range(reached[i]))
                    for J in subsets}
        closed = {ih: all(rejected[J] for J in subsets if ih in J) for ih in hyps}
        first, held = stats.sequential_holm(ps, stats.ALPHA, looks, spending)
        for i in range(m):
            rejects = [h for h in range(sizes[i]) if closed[i, h]]
            assert (first[i] is not None) == bool(rejects), (ps, first, closed)
            if first[i] is not None:  # its earliest rejection, within that look's level for the level it held
                k, h = first[i]
                assert closed[i, h] and ps[i][k][h] <= stats.nominal_levels(held[i], looks, spending)[k]
        decided = [first[i] is not None for i in range(m)]
        some_decided += 0 < sum(decided) < m
        passed_on += any(d and not any(p <= levels[m][k] for k, look in enumerate(ps[i]) for p in look)
                         for i, d in enumerate(decided))
    # the families test the step-down, not only all or nothing: some claims are decided only with a level passed on
    assert some_decided > 40 and passed_on > 10, (some_decided, passed_on)


# --- the whole procedure by simulation ---------------------------------------------------------------------------
# Families of nine claims as in test_stats (100 test images), 20 seeds of each model, the claims' p-values and
# outcomes at each look from the first n seeds. Each round a family takes its verdicts (`sequential_holm` on the
# looks each claim reached); then its undecided claims go on to their next look while their p at their last look is
# below 0.5, until the family's budget runs out after a random round (1 to 4 rounds of new seeds): the choice of
# who goes on depends on the data, as the budget's allocation does. Without stopping, every undecided claim goes on
# to every look. A family errs once any verdict it gave at any round was false.
LOOKS = (3, 5, 8, 12, 20)
SPENDING: stats.Spending = "pocock"
BATCH = 500
NARROW_MARGIN = 4.0  # pp: with 1,000 test images (at 100, the estimate and its se are correlated: the tail errs)
CASES = {  # scenario: (true A - B of each claim, pp; margin, pp; test images)
    "seeds dominate": (0.0, MARGIN, 100), "test set dominates": (0.0, MARGIN, 100), "runs at chance": (0.0, MARGIN, 100),
    "seeds dominate, narrow": (NARROW_MARGIN, NARROW_MARGIN, 1000),
    "test set dominates, narrow": (NARROW_MARGIN, NARROW_MARGIN, 1000),
}


@functools.cache
def simulated(scenario: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each claim's hypotheses' p and outcomes at every look, arrays (families, claims, looks, 2: the difference, then
    equivalence), and its true A - B (pp)."""
    shift, margin, images = CASES[scenario]
    rng = np.random.default_rng([list(SCENARIOS).index(scenario), 11])
    ps, outcomes = [], []
    for _ in range(FAMILIES // BATCH):
        a, b, truth = pairs(rng, LOOKS[-1], scenario, families=BATCH, shift_pp=shift, images=images)
        dirs = directions(truth)
        tested = [hypothesis_tests(stats.differences(a[..., :n, :], b[..., :n, :]), dirs, margin) for n in LOOKS]
        ps.append(np.stack([p for p, _ in tested], axis=2))
        outcomes.append(np.stack([o for _, o in tested], axis=2))
    return np.concatenate(ps), np.concatenate(outcomes), truth


def hypothesis_tests(d: stats.Differences, dirs, margin) -> tuple[np.ndarray, np.ndarray]:
    """Each claim's two hypotheses (`stats.hypotheses`, over arrays): p (families, claims, 2) and their outcomes."""
    ps, outcomes = [], []
    for k, direction in enumerate(dirs):
        rows = stats.outcome_ps(d.estimate[:, k], d.se[:, k], d.df[:, k], direction, margin)
        side = (rows[1] < rows[0]).astype(int)
        ps.append(np.stack([np.minimum(rows[0], rows[1]), rows[2]], axis=-1))
        outcomes.append(np.stack([np.array(stats.OUTCOMES)[side], np.full(side.shape, stats.EQUIVALENT)], axis=-1))
    return np.stack(ps, axis=1), np.stack(outcomes, axis=1)


def at_last_look(x: np.ndarray, reached: np.ndarray) -> np.ndarray:
    return np.take_along_axis(x, reached[..., None] - 1, axis=-1)[..., 0]


def sequential_verdicts(p, outcomes, reached, changed):
    """`sequential_holm` for each family whose looks `changed` (the others keep theirs): whether each claim is decided
    and its outcome at the look and hypothesis that decided it. A family none of whose p-values is within alpha
    decides nothing: no look's nominal level exceeds alpha."""
    decided, outcome = np.zeros(reached.shape, bool), np.full(reached.shape, stats.UNDECIDED, dtype=outcomes.dtype)
    reach = np.arange(p.shape[2]) < reached[..., None]
    for f in np.nonzero(changed & (np.where(reach[..., None], p, 1.0) <= stats.ALPHA).any(axis=(1, 2, 3)))[0]:
        first, _ = stats.sequential_holm([[tuple(p[f, i, k]) for k in range(reached[f, i])] for i in range(p.shape[1])],
                                         stats.ALPHA, LOOKS, SPENDING)
        for i, kh in enumerate(first):
            if kh is not None:
                decided[f, i], outcome[f, i] = True, outcomes[f, i, kh[0], kh[1]]
    return decided, outcome


def naive_verdicts(p, outcomes, reached, changed):
    """Holm at 5 % over the family at each look, on each claim's smallest p at its last look, no level spent over
    looks."""
    best = p.argmin(axis=-1)
    smallest = np.take_along_axis(p, best[..., None], axis=-1)[..., 0]
    chosen = np.take_along_axis(outcomes, best[..., None], axis=-1)[..., 0]
    return holm_decided(at_last_look(smallest, reached)), at_last_look(chosen, reached)


def rounds(scenario: str, verdicts, stopping: bool = True) -> np.ndarray:
    """The share of families with a false verdict so far after each round (a claim once decided gets no more
    seeds)."""
    p, outcomes, truth = simulated(scenario)
    margin = CASES[scenario][1]
    families, claims, looks = p.shape[:3]
    rng = np.random.default_rng([list(SCENARIOS).index(scenario), 12])
    budget = rng.integers(1, looks, families) if stopping else np.full(families, looks - 1)
    reached, changed = np.ones((families, claims), int), np.ones(families, bool)
    ever = np.zeros((families, claims), bool)
    decided, outcome = np.zeros_like(ever), np.full(ever.shape, stats.UNDECIDED, dtype=outcomes.dtype)
    false, rates = np.zeros(families, bool), []
    for r in range(looks):
        new, new_outcome = verdicts(p, outcomes, reached, changed)
        decided[changed], outcome[changed] = new[changed], new_outcome[changed]
        false |= (decided & false_outcome(outcome, truth, margin)).any(axis=1)
        ever |= decided
        rates.append(false.mean())
        goes_on = ~ever & (reached < looks) & (r < budget)[:, None]
        if stopping:
            goes_on &= at_last_look(p.min(axis=-1), reached) < 0.5
        reached, changed = reached + goes_on, goes_on.any(axis=1)
    return np.array(rates)


def percent(rates) -> str:
    return " ".join(f"{100 * x:.2f}" for x in rates) + " %"


@pytest.mark.parametrize("scenario", list(CASES))
def test_the_sequential_procedure_gives_a_false_verdict_at_most_5_percent_of_the_time_at_every_round(scenario):
    # null claims (no true difference; under "runs at chance" claim 0 truly worse by 28 pp) and claims on the
    # equivalence margin (truly better by the margin: "equivalent" and "contradicted" are false), 3,000 families
    chosen, every = rounds(scenario, sequential_verdicts), rounds(scenario, sequential_verdicts, stopping=False)
    print(f"\n{scenario}: by round, chosen claims go on {percent(chosen)}; all go on {percent(every)}")
    assert chosen.max() <= BOUND and every.max() <= BOUND, \
        f"{scenario}: {percent(chosen)} (chosen go on), {percent(every)} (all go on)"


def test_the_simulation_fails_holm_at_5_percent_repeated_at_every_look_without_spending():
    # the same families as above ("seeds dominate", every undecided claim goes on to every look): the bound that the
    # sequential procedure meets is exceeded by the naive one
    naive, chosen = rounds("seeds dominate", naive_verdicts, stopping=False), rounds("seeds dominate", naive_verdicts)
    spent = rounds("seeds dominate", sequential_verdicts, stopping=False)
    print(f"\nnaive Holm at every look: all go on {percent(naive)}; chosen go on {percent(chosen)}; "
          f"sequential: {percent(spent)}")
    assert naive[-1] > BOUND >= spent[-1], f"naive {percent(naive)}, sequential {percent(spent)}"


# --- the next round's plan ----------------------------------------------------------------------------------------
PLAN_LOOKS = (3, 5, 8, 12, 20)


def verdict(claim, model, baseline, state="open", seeds=5, power=0.5, needs=None, n=3):
    """What `plan_round` reads of a claim's verdict: `state` open (undecided, a next look), decided or futile."""
    return SimpleNamespace(claim=claim, model=model, baseline=baseline,
                           verdict=stats.SUPPORTED if state == "decided" else stats.UNDECIDED,
                           why_not="undecided at the last look" if state == "futile" else "",
                           next_seeds=seeds if state == "open" else None, next_power=power, next_level=0.001,
                           needs_for_ours=needs, diff=SimpleNamespace(n_a=n))


def paid(plan, have, cost_per_seed) -> float:
    """The cost of a plan counted by hand: each model once, for the seeds it gains."""
    return sum((n - have.get(m, 0)) * cost_per_seed[m] for m, n in plan.wanted.items())


def test_a_round_never_costs_more_than_the_budget_left_and_pays_for_each_model_once():
    rng = np.random.default_rng(17)
    models = [f"model_{i:02d}" for i in range(1, 8)]
    design, shared, waited = Design(looks=PLAN_LOOKS), 0, 0
    for _ in range(400):
        have = {m: int(rng.choice(PLAN_LOOKS[:-1])) for m in models}
        cost_per_seed = {m: float(rng.uniform(0.5, 20)) for m in models}
        claims = []
        for c in range(int(rng.integers(1, 9))):
            model, baseline = rng.choice(models, 2, replace=False)
            n = max(have[model], have[baseline])
            later = [x for x in PLAN_LOOKS if x > n]
            state = rng.choice(["open", "open", "open", "decided", "futile"]) if later else "futile"
            claims.append(verdict(f"claim {c}", str(model), str(baseline), str(state), later[0] if later else None,
                                  float(rng.uniform(0.05, 0.95)), int(rng.choice([0, *PLAN_LOOKS])) or None, n))
        left = float(rng.uniform(0, 600))
        plan = plan_round(claims, design, have, cost_per_seed, left)
        assert plan.cost <= left + 1e-9
        assert plan.cost == pytest.approx(paid(plan, have, cost_per_seed))
        assert plan.added == sum(n - have[m] for m, n in plan.wanted.items())
        adds = [s for s in plan.steps if s.state == "adds"]
        assert set(plan.wanted) <= {m for s in adds for m in (s.model, s.baseline)}
        # the whole plans of the claims taken, each model paid once, fit the budget left
        needs = {c.claim: c.needs_for_ours for c in claims}
        held = dict(have)
        for s in adds:
            for m in (s.model, s.baseline):
                held[m] = max(held[m], design.planned_seeds(needs[s.claim]), s.seeds)
        assert sum((held[m] - have[m]) * cost_per_seed[m] for m in have) <= left + 1e-9
        assert all(max(plan.wanted.get(m, 0), have[m]) >= s.seeds for s in adds for m in (s.model, s.baseline))
        taken = [m for s in adds for m in (s.model, s.baseline)]
        shared += len(taken) > len(set(taken))
        waited += bool(adds) and any(s.state == "waits" for s in plan.steps)
    assert shared > 50 and waited > 50  # plans that share models, and budgets that take some claims but not all


def test_a_model_shared_by_two_claims_is_paid_for_once():
    # both claims compare with model_01 (10 s a seed), each of the others costs 1 s a seed, all at 3 seeds
    have = {"model_01": 3, "model_02": 3, "model_03": 3}
    cost = {"model_01": 10.0, "model_02": 1.0, "model_03": 1.0}
    claims = [verdict("2 beats 1", "model_02", "model_01", seeds=5, power=0.8, needs=5),
              verdict("3 beats 1", "model_03", "model_01", seeds=8, power=0.6, needs=8)]
    plan = plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, budget_left=1000.0)
    # to 5 seeds: 2 × 10 + 2 × 1 = 22; then to 8: model_01's 3 more (30) and model_03's 5 (5), not 5 × 10 + 5 again
    assert plan.wanted == {"model_01": 8, "model_02": 5, "model_03": 8}
    assert plan.cost == pytest.approx(22 + 35) and plan.added == 5 + 2 + 5
    # and a budget that covers them only when model_01 is paid for once takes both
    assert [s.state for s in plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, 57.0).steps] == ["adds"] * 2


def test_the_budget_is_held_for_the_whole_plan_of_each_claim_it_takes():
    # near: 30 % at 5 seeds, planned 8 (2 × 5 = 10 to see through); far: 50 % at 5 seeds, planned 20 (2 × 17 = 34)
    have = dict.fromkeys(["Na", "Nb", "Fa", "Fb"], 3)
    cost = dict.fromkeys(have, 1.0)
    claims = [verdict("far", "Fa", "Fb", seeds=5, power=0.5, needs=20),
              verdict("near", "Na", "Nb", seeds=5, power=0.3, needs=8)]
    # near first (0.3 / 10 against 0.5 / 34); the 40 left cover far's next look (4) but not its plan (34) beside
    # near's (10), so far waits rather than spend on seeds the budget could not see through
    plan = plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, 40.0)
    assert [(s.claim, s.state) for s in plan.steps] == [("near", "adds"), ("far", "waits")]
    assert plan.wanted == {"Na": 5, "Nb": 5} and plan.cost == pytest.approx(4.0)
    assert [s.per_cost for s in plan.steps] == pytest.approx([0.03, 0.5 / 34])
    # with 44 both plans fit, and both go to their next look only
    both = plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, 44.0)
    assert [s.state for s in both.steps] == ["adds", "adds"] and both.wanted == dict.fromkeys(have, 5)


def test_decided_and_futile_claims_get_no_seeds():
    have = {f"model_0{i}": 5 for i in range(1, 7)}
    cost = dict.fromkeys(have, 1.0)
    claims = [verdict("decided", "model_01", "model_02", "decided"),
              verdict("futile", "model_03", "model_04", "futile"),
              verdict("open", "model_05", "model_06", seeds=8, power=0.5, needs=8)]
    plan = plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, 100.0)
    assert {s.claim: s.state for s in plan.steps} == {"decided": "decided", "futile": "futile", "open": "adds"}
    assert plan.wanted == {"model_05": 8, "model_06": 8} and plan.cost == pytest.approx(6.0)
    assert plan_round(claims[:2], Design(looks=PLAN_LOOKS), have, cost, 100.0).wanted == {}


def test_claims_are_taken_by_their_chance_of_a_verdict_per_second_of_training():
    # chance of a verdict / cost of the next look: C 0.6 / 2, B 0.2 / 1, D 0.5 / 5, A 0.9 / 10; neither the order by
    # chance (A C D B) nor by cost (B C D A)
    spec = {"A": (0.9, 10.0), "B": (0.2, 1.0), "C": (0.6, 2.0), "D": (0.5, 5.0)}  # chance, cost of the next look
    have = {f"{c}{side}": 3 for c in spec for side in "ab"}
    cost = {f"{c}{side}": spec[c][1] / 4 for c in spec for side in "ab"}  # two models, 3 -> 5 seeds each
    claims = [verdict(c, f"{c}a", f"{c}b", seeds=5, power=power, needs=5) for c, (power, _) in spec.items()]
    plan = plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, 100.0)
    assert [s.claim for s in plan.steps] == ["C", "B", "D", "A"]
    assert [s.per_cost for s in plan.steps] == pytest.approx([0.3, 0.2, 0.1, 0.09])
    # a budget of 4 takes C (2) and B (1); D (5) and A (10) wait
    tight = plan_round(claims, Design(looks=PLAN_LOOKS), have, cost, 4.0)
    assert [(s.claim, s.state) for s in tight.steps] == [("C", "adds"), ("B", "adds"), ("D", "waits"), ("A", "waits")]
    assert tight.cost == pytest.approx(3.0)
