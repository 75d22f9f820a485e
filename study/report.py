"""Tables and notices that the report's pages display (display labels live here, never in the data)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from study import evidence, stats
from study.data import LABELS, Provenance
from study.evidence import ClaimVerdict, Reproduction
from study.results import SUMMARY_COLUMNS, ModelRecord, RunRecord
from study.sequential import Design, RoundPlan
from study.spec import ModelSpec
from study.stats import UNIT, Difference, Summary, interval, mean_ci


def configurations(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The study's design: one row per parameter file."""
    rows = []
    for spec in specs.values():
        t = spec.training
        rows.append({
            "model": spec.id,
            "title": spec.title.split(": ", 1)[-1],
            "conv layers": " → ".join(f"{c.filters}@{c.kernel}×{c.kernel} {c.activation}" for c in spec.conv),
            "pooling": f"{spec.pool}×{spec.pool} max",
            "dense": f"{spec.dense_units} {spec.dense_activation}",
            "batch": t.batch_size,
            "epochs": t.epochs,
            "learning rate": t.learning_rate,
            "varies": spec.factor,
            "compared with": spec.compare_with or "—",
        })
    return pd.DataFrame(rows).set_index("model")


def layer_totals(table: pd.DataFrame) -> str:
    """The line under a layer table, as Keras prints it."""
    total = int(table["params"].sum())
    return f"Total params: {total:,} (all trainable)"


def mean_sd(summary: Summary) -> str:
    """`mean ± sd` with four decimals (the mean alone for one value)."""
    return f"{summary.mean:.4f}" if summary.n < 2 else f"{summary.mean:.4f} ± {summary.sd:.4f}"


def figure(value) -> str:
    """A value as every table prints it: integers as integers, fractions with four decimals, "—" for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def seed_vs_reproduced(record: ModelRecord, runs: list[RunRecord]) -> pd.DataFrame:
    """The seed's figures beside this study's (mean ± sd over seeds); precision/recall/F1 as the seed computed
    them (class 1 as the positive class) and macro-averaged."""
    seed, summ, positive = record.spec.seed_report, record.summary, record.positive_class
    first = mean_ci([r.history["accuracy"][0] for r in runs])
    last = mean_ci([r.history["accuracy"][-1] for r in runs])
    macro = {k: mean_ci([getattr(r.test.macro, k) for r in runs]) for k in ("precision", "recall", "f1")}
    rows = [
        ("test accuracy", seed.accuracy, mean_sd(summ.accuracy)),
        (f"precision, {positive} as positive class", seed.precision, mean_sd(summ.positive_precision)),
        (f"recall, {positive} as positive class", seed.recall, mean_sd(summ.positive_recall)),
        (f"F1, {positive} as positive class", seed.f1, mean_sd(summ.positive_f1)),
        ("precision, macro average", None, mean_sd(macro["precision"])),
        ("recall, macro average", None, mean_sd(macro["recall"])),
        ("F1, macro average", None, mean_sd(macro["f1"])),
        ("training accuracy, first epoch", seed.train_accuracy_first, mean_sd(first)),
        ("training accuracy, last epoch", seed.train_accuracy_last, mean_sd(last)),
        ("parameters", seed.params, record.param_count),
    ]
    seed_column = "seed reported (MNIST)" if positive == "digit 1" else "seed reported (MNIST, digit 1)"
    frame = pd.DataFrame([(name, figure(seed_value), figure(ours)) for name, seed_value, ours in rows],
                         columns=["figure", seed_column, f"reproduced on {record.dataset.label} ({len(runs)} seeds)"])
    return frame.set_index("figure")


def seed_runs(runs: list[RunRecord]) -> pd.DataFrame:
    """Each seed's test figures and training time, then their mean ± sd and 95 % confidence interval."""
    positive = runs[0].test.positive_class.name
    frame = pd.DataFrame([{"seed": r.seed, "accuracy": r.test.accuracy, "macro F1": r.test.macro.f1,
                           f"F1, {positive}": r.test.positive_class.f1, "train s": r.seconds.train}
                          for r in runs]).set_index("seed")
    summaries = {col: mean_ci(frame[col], bounds=None if col == "train s" else UNIT) for col in frame.columns}
    extra = pd.DataFrame({
        "mean ± sd": {c: mean_sd(v) for c, v in summaries.items()},
        "95 % CI": {c: interval(v) for c, v in summaries.items()},
    }).T
    return pd.concat([frame.map(figure), extra])


def per_class(run: RunRecord) -> pd.DataFrame:
    """scikit-learn's per-class precision, recall, F1 and support of one run."""
    return pd.DataFrame([c.model_dump() for c in run.test.per_class]).set_index("name").drop(columns="label").map(figure)


def summary_table(table: pd.DataFrame, positive_class: str) -> pd.DataFrame:
    """`study.results.summary` for display: labelled columns, dashes for what is missing."""
    labels = {k: v.format(positive=positive_class) for k, v in SUMMARY_COLUMNS.items()}
    return table.rename(columns=labels).map(figure)


def how_computed(record: ModelRecord, *, epochs: int, threads: int, inputs_hash: str | None) -> str:
    """What a model page was computed with and on, and how long it took (parameters, data, software, hardware), as
    a MyST table."""
    hardware, seconds, data = record.hardware, record.seconds, record.dataset
    speed = (f"{seconds.images_per_second:,.0f} (after the first epoch, median over seeds)"
             if seconds.images_per_second else "— (one epoch only: the first includes compiling)")
    rows = {
        "parameter file": f"notebooks/params/{record.id}.yaml",
        "seeds": ", ".join(map(str, record.seeds)),
        "epochs": str(epochs) + (" (smoke run)" if record.smoke else ""),
        "data": f"{data.label}: {data.n_train:,} training and {data.n_test:,} test images from {data.source}",
        "data SHA-256 (arrays)": f"`{data.sha256}`",
        "training": f"Keras' fit on {hardware.backend} {hardware.backend_version}, {record.steps_per_execution} "
                    f"steps per execution, {record.precision}",
        "threads per op": str(hardware.threads or "all cores") + ("" if threads else " (the backend's default)"),
        "devices": ", ".join(hardware.devices),
        "processor": f"{hardware.processor} ({hardware.machine}), {hardware.cpu_count} cores",
        "training time": f"{seconds.train:.1f} s over {len(record.seeds)} seed(s)",
        "training images per second": speed,
        "whole page": f"{seconds.total:.1f} s",
        "versions": ", ".join(f"{k} {v}" for k, v in record.versions.items()),
        "inputs hash": f"`{inputs_hash}`" if inputs_hash else "— (run by hand)",
    }
    return "| what | this page used |\n| --- | --- |\n" + "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in rows.items())


def data_notice(dataset: Provenance) -> str:
    """A MyST admonition naming the data a page was computed on, its source and the arrays' hash; a warning when
    it is not what was asked for."""
    text = (f"Computed on **{dataset.label}**: {dataset.n_train:,} training and {dataset.n_test:,} "
            f"test images, from {dataset.source}; SHA-256 of the arrays `{dataset.sha256}`.")
    if dataset.fell_back:
        return (f"```{{warning}}\nThis page was asked to use **{LABELS[dataset.requested]}**, which could not be "
                f"had ({dataset.fallback_reason}). {text} Figures on small data are noisier and are not "
                f"comparable with the seed report's.\n```")
    return f"```{{note}}\n{text}\n```"


# The seed report's claims and accuracies as pages show them (`study.evidence` computes them).

TEST_ONES = 1135  # images of digit 1 in the MNIST test set
DEFAULT_MOST = 50  # the most seeds per model the front page plans for in a one-look edition (the design's last look)


def _explained(v: ClaimVerdict) -> bool:
    """Whether the page explains what a claim would take: it is undecided, not decidable, or has too few seeds."""
    return v.verdict in (stats.UNDECIDED, stats.NO_VERDICT) or bool(v.why_not)


def reproduction_table(rows: list[Reproduction]) -> pd.DataFrame:
    """Reproductions for display, one row per model."""
    return pd.DataFrame([{
        "model": r.model, "seed reported": figure(r.reported), "ours: mean": figure(r.ours.mean),
        "sd": figure(r.ours.sd), "min–max": f"{r.ours.min:.4f}–{r.ours.max:.4f}",
        "runs at chance": f"{r.at_chance} of {r.ours.n}",
        "shift: ours − seed": "—" if r.shift_pp is None else f"{r.shift_pp:+.2f} pp",
        "95 % prediction interval of the shift": "—" if math.isnan(r.shift_low) else
        f"[{r.shift_low:+.2f}, {r.shift_high:+.2f}] pp",
        "verdict": r.verdict or f"— ({r.why_not})",
    } for r in rows]).set_index("model")


def reproduction_count(rows: list[Reproduction]) -> str:
    """One sentence: how many of the seed's accuracies our runs reproduce, of those that could be judged."""
    judged = [r for r in rows if r.verdict]
    if not judged:
        return f"The seed's accuracies were not judged here: {rows[0].why_not}." if rows else "No results yet."
    hits = sum(r.verdict == stats.REPRODUCED for r in judged)
    skipped = len(rows) - len(judged)
    return (f"**{hits} of {len(judged)}** of the seed report's test accuracies that our runs can judge are "
            f"reproduced: they lie inside the 95 % prediction interval for one more run of ours."
            + (f" {skipped} more cannot be judged (see the last column)." if skipped else ""))


def at_chance_notice(model_id: str, runs: list[RunRecord], classes: int = 10) -> str:
    """A MyST warning naming the seeds of a model that stayed at chance, and why its interval is then wide; ""
    when none did."""
    stuck = evidence.at_chance(runs, classes)
    if not stuck:
        return ""
    seeds = ", ".join(f"seed {r.seed} ({r.test.accuracy:.4f})" for r in stuck)
    return (f"```{{warning}}\n{model_id}: {seeds} stayed at chance (1 in {classes} right): that run did not learn. "
            f"Its mean and interval over seeds mix runs that did not learn with runs that did, which is why the "
            f"interval is wide; read the seeds one by one.\n```")


def _seeds(n: int | None) -> str:
    return "no number of seeds" if n is None else f"{_count(n)} seeds"


def _at_chance_plan(model: str, plan: stats.Planned) -> str:
    """How a model some of whose runs stayed at chance is planned for, and what more seeds would tell."""
    share = plan.at_chance / plan.runs
    later = max(10, 2 * plan.runs)
    low, high = stats.rate_bounds(round(share * later), later)
    return (f"{model}: {plan.at_chance} of {plan.runs} runs stayed at chance, so the share of runs that do is known "
            f"only to lie between {plan.rate_low:.0%} and {plan.rate_high:.0%}; the seeds are planned at "
            f"{plan.rate_low:.0%}, and no plan from so few runs is firm: at {later} seeds, with the same share, it "
            f"would be known within {low:.0%}–{high:.0%}")


def _what_it_takes(v: ClaimVerdict) -> str:
    """What an undecided claim would take, in words: the seeds per model at 80 % power at its level over its family."""
    d, level, family = v.diff, v.level, v.plan_family
    if not d.decidable:
        return f"{stats.MIN_SEEDS} seeds of each model: with fewer, the seed-to-seed spread is too uncertain to decide"
    if v.test is not None and v.test.look:
        text = (f"80 % power at the last look's nominal {100 * v.test.p_holm:.2g} % (this claim holds "
                f"{100 * level:.2g} % of the family's 5 %, spent over the design's looks)")
    else:
        spent = f"{100 * level:g} % over {family} claim{'s' if family > 1 else ''}"
        text = f"80 % power at {100 * level / family:.2g} % ({spent}, Holm's first step)"
    seed, ours = v.needs_for_seed, v.needs_for_ours
    if v.seed_diff_pp is None:
        head = "the seed report printed no difference to plan for"
    elif seed is None and stats.distance(v.direction, v.seed_diff_pp, v.margin_pp) <= 0:
        head = f"the seed report's own difference ({v.seed_diff_pp:+.2f} pp) lies beyond the margin the claim needs"
    elif seed is None:
        head = (f"no number of seeds: the test set's own noise (se {math.sqrt(d.image_var / d.images):.2f} pp, which "
                f"seeds do not reduce) hides the seed report's difference ({v.seed_diff_pp:+.2f} pp)")
    else:
        head = f"{_seeds(seed)} per model to detect the seed report's difference ({v.seed_diff_pp:+.2f} pp)"
    chance = [_at_chance_plan(m, p) for m, p in ((v.model, v.planned_a), (v.baseline, v.planned_b)) if p.at_chance]
    why = f"{v.verdict}: {v.why_not}; " if v.why_not else ""
    return (f"{why}{head}; {_seeds(ours)} per model for a difference the size of ours ({d.estimate:+.2f} pp); {text}; "
            "seed spreads planned at their upper 80 % bound" + "".join(f"; {c}" for c in chance))


def _ci(d: Difference) -> str:
    """The interval as pages print it, cut to the possible range of a difference of accuracies (±100 pp)."""
    low, high, clipped = stats.clip(d.low, d.high, stats.DIFFERENCE_RANGE)
    return f"[{low:+.2f}, {high:+.2f}]" + (" (clipped to ±100)" if clipped else "")


def claims_table(verdicts: list[ClaimVerdict]) -> pd.DataFrame:
    """Claim verdicts for display, a few short columns: the claim, the seed's difference, ours with its interval,
    the seeds, the verdict and the seeds an undecided claim needs (`tests_table` holds the tests behind them)."""
    return pd.DataFrame([{
        "claim (seed report)": v.claim + (f" (not tested: “{v.untested}”)" if v.untested else ""),
        "A vs B": f"{evidence.short_name(v.model)} vs {evidence.short_name(v.baseline)}",
        "claimed": f"A {v.direction} than B" if v.direction in ("better", "worse") else f"A {v.direction}",
        "seed: A − B": "—" if v.seed_diff_pp is None else f"{v.seed_diff_pp:+.2f} pp",
        "ours: A − B, 95 % CI": f"{v.diff.estimate:+.2f} pp {_ci(v.diff)}{'' if v.diff.seed_spread_known else '*'}",
        "seeds (at chance)": f"{v.diff.n_a} ({v.at_chance_a}), {v.diff.n_b} ({v.at_chance_b})",
        "verdict": "no verdict" if v.verdict == stats.NO_VERDICT else v.verdict,
        "seeds needed: seed's, ours": (f"{_count(v.needs_for_seed)}, {_count(v.needs_for_ours)}"
                                       if v.verdict == stats.UNDECIDED else "see below" if _explained(v) else "—"),
    } for v in verdicts])


def tests_table(verdicts: list[ClaimVerdict]) -> pd.DataFrame:
    """The tests behind the claims table, one row per claim: the interval, its standard errors, the chance that a
    run of A beats a run of B, the p-value with Holm's adjusted p (in a design, the nominal level its look needed)
    and, in a design, the look that decided it (else its last), and the verdict in full."""
    return pd.DataFrame([{
        "A vs B": f"{v.model} vs {v.baseline}",
        "95 % CI": _ci(v.diff) + ("" if v.diff.seed_spread_known else " (test set only)"),
        "se: seeds, images": ("—" if not v.diff.seed_spread_known else f"{v.diff.se_seeds:.2f}") +
        f", {v.diff.se_images:.2f} pp",
        "P(A run beats B run)": f"{v.diff.beats:.2f}",
        "p (the level it needed)": "—" if v.test is None else f"{v.test.p:.2g} ({v.test.p_holm:.2g})",
        "look": "—" if v.test is None or not v.test.look else f"{v.test.look} ({v.diff.n_a} seeds)",
        "verdict": v.verdict,
    } for v in verdicts])


def claims_footnote(verdicts: list[ClaimVerdict]) -> str:
    """What the claims table's marks mean, as one line of Markdown; "" when it has none."""
    notes = []
    if any(not v.diff.seed_spread_known for v in verdicts):
        notes.append("\\* one seed: the interval is the test set's alone, the spread between seeds being unknown")
    if any(v.verdict == stats.NO_VERDICT for v in verdicts):
        notes.append(f"*no verdict*: fewer than {stats.MIN_SEEDS} seeds of a model")
    return "; ".join(notes) + "." if notes else ""


def what_it_takes(verdicts: list[ClaimVerdict]) -> str:
    """What each undecided claim would take, as a MyST list below the claims table (one item per claim); ""
    when every claim is decided."""
    items = [f"- **{v.model} vs {v.baseline}** ({v.claim}): {_what_it_takes(v)}." for v in verdicts if _explained(v)]
    return "\n".join(items)


def design_notice(design: Design | None) -> str:
    """What a sequential design means for the verdicts, as a MyST note; "" for a single look."""
    if design is None:
        return ""
    looks = ", ".join(map(str, design.looks))
    return (f"```{{note}}\nThe seeds were chosen by a sequential design (`--budget`): looks at {looks} seeds per "
            f"model, fixed in advance. Each claim is tested at every look its two models reach, its share of the "
            f"family's {100 * design.alpha:g} % spent over the looks by a {design.spending.replace('-', ' ').title()}-"
            f"type spending function (Lan and DeMets); a claim whose difference and equivalence are both settled "
            f"passes its share to the others (Holm's procedure with Shaffer's constraint, as in Maurer and Bretz's "
            f"graphical approach). The chance of any false verdict among this "
            f"page's claims, whenever the design stops, is at most {100 * design.alpha:g} %. The *look* column of the "
            f"tests says which look decided each claim; a claim no look can decide says why and got no more seeds."
            f"\n```")


def duration(seconds: float) -> str:
    """A span of time as the front page gives it: minutes below two hours, else hours."""
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def rounds_table(design: Design) -> pd.DataFrame:
    """A design's rounds, one row each: the seeds per model when it ended, the runs it trained, the training it
    spent, and the claims decided and not decidable then."""
    return pd.DataFrame([{
        "round": i, "seeds per model": f"{min(r.seeds.values())}–{max(r.seeds.values())}" if r.seeds else "—",
        "runs trained": r.trained,
        "training": duration(r.spent) if design.unit == "s" else f"{r.spent:.0f} runs",
        "claims decided": r.decided, "not decidable": r.futile,
    } for i, r in enumerate(design.rounds, 1)])


def edition(design: Design | None, verdicts: list[ClaimVerdict], dataset: str, per_seed: dict[str, float]) -> str:
    """The front page's line on which edition a dataset's results are: the seeds per model, the rounds taken, the
    claims decided, the training spent, and the command that would decide more with its estimated training time
    on this machine (`per_seed`: each model's wall seconds per seed here)."""
    seeds = sorted({v.diff.n_a for v in verdicts} | {v.diff.n_b for v in verdicts})
    decided = sum(v.verdict in stats.OUTCOMES for v in verdicts)
    futile = [v for v in verdicts if v.why_not]
    span = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}" if seeds else "no"
    text = f"**{LABELS[dataset]}**: {span} seeds per model, {decided} of {len(verdicts)} claims decided"
    if futile:
        text += f", {len(futile)} not decidable ({'; '.join(sorted({v.verdict for v in futile}))})"
    spent = 0.0 if design is None or design.unit != "s" else design.spent
    if design is not None:
        used = duration(spent) if design.unit == "s" else f"{design.spent:.0f} runs"
        text += f"; a sequential design, {len(design.rounds)} round(s) after its first look, {used} of training"
    else:
        text += "; one look"
    open_ = [v for v in verdicts if v.verdict == stats.UNDECIDED and (design is None or v.next_seeds)]
    if not open_:
        return text + "."
    most = design.looks[-1] if design else max(DEFAULT_MOST, *seeds)
    need: dict[str, int] = {}
    for v in open_:
        n = (design or Design(looks=(most,))).planned_seeds(v.needs_for_ours)
        for m, has in ((v.model, v.diff.n_a), (v.baseline, v.diff.n_b)):
            need[m] = max(need.get(m, 0), n - has)
    hours = sum(n * per_seed.get(m, 0.0) for m, n in need.items()) / 3600
    budget = math.ceil(spent / 3600 + hours)
    return (text + f". To decide more: `nox -s execute -- --datasets {dataset} --budget {budget}h`, about "
            f"{duration(hours * 3600)} of training on this machine for the seeds ours would need (at most {most} per "
            "model).")


def findings(verdicts: dict[str, list[ClaimVerdict]], pages: dict[str, str]) -> str:
    """The front page's answer, as a MyST table: one row per claim of the seed report, one column per dataset,
    each cell the verdict (linked to the page with its evidence), our effect, its 95 % interval, the seeds it
    rests on and, where undecided, the seeds it would need to detect the seed report's difference."""
    claims = {v.claim: (v.model, v.baseline) for vs in verdicts.values() for v in vs}
    if not claims:
        return "No claim of the seed report can be tested yet: run `nox -s execute`."
    header = "| the seed report's claim | " + " | ".join(LABELS[d] for d in verdicts) + " |"
    lines = [header, "| --- |" + " --- |" * len(verdicts)]
    for claim, (model, baseline) in claims.items():
        cells = []
        for dataset, vs in verdicts.items():
            v = next((v for v in vs if v.claim == claim), None)
            cells.append("—" if v is None else _cell(v, pages[dataset]))
        short = f"{evidence.short_name(model)} vs {evidence.short_name(baseline)}"
        lines.append(f"| {claim} ({short}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(v: ClaimVerdict, page: str) -> str:
    """One findings cell: the linked verdict, our difference and interval, the seeds, what an open claim needs;
    with one seed only the verdict that none is given and the difference (the page shows the test set's interval)."""
    d = v.diff
    if not d.seed_spread_known:
        return f"[no verdict: 1 seed]({page}) {d.estimate:+.2f} pp"
    if not d.decidable:
        return f"[no verdict: {min(d.n_a, d.n_b)} seeds]({page}) {d.estimate:+.2f} pp {_ci(d)}"
    text = f"[{v.verdict}]({page}) {d.estimate:+.2f} pp {_ci(d)}; {d.n_a}+{d.n_b} seeds"
    if v.verdict == stats.UNDECIDED:
        text += (f"; seeds needed: {_count(v.needs_for_seed)} for the seed's difference, {_count(v.needs_for_ours)} "
                 "for ours")
    elif v.why_not:
        text += f" ({v.why_not})"
    return text


def _count(n: int | None) -> str:
    return "none can" if n is None else f">{n - 1:,}" if n > stats.MOST else f"{n:,}"


def reproduction_finding(reproduced: dict[str, list[Reproduction]], pages: dict[str, str]) -> str:
    """The front page's sentence on the seed's accuracies: how many our runs reproduce on MNIST, linked."""
    if evidence.SEED_DATASET not in reproduced:
        return ("The seed report's accuracies are on the full MNIST, which this book holds no results for, so "
                "none is judged here.")
    rows = reproduced[evidence.SEED_DATASET]
    judged = [r for r in rows if r.verdict]
    if not judged:
        return f"The seed report's accuracies are not judged here: {rows[0].why_not if rows else 'no results yet'}."
    hits = sum(r.verdict == stats.REPRODUCED for r in judged)
    skipped = [r.model for r in rows if not r.verdict]
    return (f"Our runs reproduce **{hits} of {len(judged)}** of the seed report's test accuracies on MNIST that they "
            f"can judge: they lie inside the 95 % prediction interval for one more run of ours "
            f"([evidence]({pages[evidence.SEED_DATASET]}))."
            + (f" Not judged, our runs being too few or too spread: {', '.join(skipped)}." if skipped else ""))


def claims_across(verdicts: dict[str, list[ClaimVerdict]]) -> pd.DataFrame:
    """The verdict on every seed-report claim per dataset (columns: dataset labels), and on which it holds."""
    frame = pd.DataFrame({LABELS[dataset]: {v.claim: v.verdict for v in vs} for dataset, vs in verdicts.items()})
    supported = frame.eq(stats.SUPPORTED)
    frame["holds on"] = ["all" if row.all() else "none" if not row.any() else ", ".join(c for c, ok in row.items() if ok)
                         for _, row in supported.iterrows()]
    return frame.rename_axis("claim (seed report)")


def digit_one_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The seed's recall times the 1,135 test ones: a whole number every time, so it is digit 1's recall."""
    rows = []
    for spec in specs.values():
        recall = spec.seed_report.recall
        if recall is None:
            continue
        ones = recall * TEST_ONES
        rows.append({"model": spec.id, "seed recall": recall,
                     "recall × 1135": round(ones) if abs(ones - round(ones)) < 1e-6 else round(ones, 6),
                     "whole number": "yes" if abs(ones - round(ones)) < 1e-6 else "no"})
    return pd.DataFrame(rows).set_index("model").map(figure)


def conclusion_table_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The seed's section accuracies beside the ones in its own conclusion table."""
    rows = [{"model": s.id, "section": s.seed_report.accuracy, "conclusion table": s.seed_report.conclusion_table_accuracy,
             "agree": "yes" if s.seed_report.accuracy == s.seed_report.conclusion_table_accuracy else "no"}
            for s in specs.values() if s.seed_report.conclusion_table_accuracy is not None]
    return pd.DataFrame(rows).set_index("model").map(figure)


def warm_start_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """Models whose first epoch starts where the other models finish: they continued from trained weights.

    A model is flagged when its first-epoch training accuracy reaches the median last-epoch training
    accuracy of the other models.
    """
    reported = {s.id: s.seed_report for s in specs.values()
                if s.seed_report.train_accuracy_first is not None and s.seed_report.train_accuracy_last is not None}
    rows = []
    for sid, rep in reported.items():
        finish = float(np.median([r.train_accuracy_last for k, r in reported.items() if k != sid]))
        rows.append({"model": sid, "first epoch": rep.train_accuracy_first, "last epoch": rep.train_accuracy_last,
                     "others' median last epoch": round(finish, 4),
                     "started from trained weights": "yes" if rep.train_accuracy_first >= finish else "no"})
    return pd.DataFrame(rows).set_index("model").map(figure)


def across_table(table: pd.DataFrame) -> pd.DataFrame:
    """`across_datasets` for display: "<dataset label>: <figure>" columns, four decimals."""
    names = {"accuracy": "accuracy", "ci_low": "CI low", "ci_high": "CI high", "rank": "rank"}
    shown = table.copy()
    shown.columns = [f"{LABELS[d]}: {names[f]}" for d, f in table.columns]
    return shown.map(figure)


def round_lines(label: str, design: Design, plan: RoundPlan, left: float) -> str:
    """What a design's next round does, per claim (its state and why seeds are or are not added), and the budget
    left after it."""
    unit = "s" if design.unit == "s" else " runs"
    head = (f"--budget on {label}: round {len(design.rounds) + 1}, adds {plan.added} run(s) to "
            f"{len(plan.wanted)} model(s) (seeds per model after it: "
            + (", ".join(f"{m} {n}" for m, n in plan.wanted.items()) or "none") + f"), costs about {plan.cost:,.0f}"
            f"{unit}; {left:,.0f}{unit} of the budget left after it")
    lines = [f"  {s.model} vs {s.baseline} ({s.claim}): {s.state}: {s.why}" for s in plan.steps]
    return "\n".join([head, *lines])
