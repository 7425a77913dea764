import csv

import numpy as np
import pytest

from review.core.errors import DatasetError
from review.screening.classifiers import Ranker
from review.screening.features import TextFeatures
from review.screening.simulate import draw_priors, metrics, simulate
from review.sources.datasets import load_dataset
from review.ui.cli import main


@pytest.fixture(scope="module")
def donners(data_dir=None):
    from pathlib import Path

    return load_dataset(Path(__file__).parent / "data" / "screening" / "Donners_2021")


def test_metrics_on_hand_made_orders():
    # N = 20 after the priors, R = 4 included at positions 1, 2, 5 and 20
    y = np.zeros(20, dtype=int)
    y[[0, 1, 4, 19]] = 1
    m = metrics(y)
    assert m["n"] == 20 and m["r"] == 4
    assert m["recall_at_10"] == pytest.approx(2 / 4)  # first 2 records hold 2 of 4
    # 95 % recall needs all 4 (ceil(3.8)): 20 screened -> (20 - 20) / 20 - 0.05
    assert m["wss_95"] == pytest.approx(-0.05)
    assert m["atd"] == pytest.approx((1 + 2 + 5 + 20) / 4 / 20)
    y2 = np.zeros(100, dtype=int)
    y2[:19] = 1
    y2[50] = 1  # 20 included: 95 % = 19, reached at position 19
    m2 = metrics(y2)
    assert m2["wss_95"] == pytest.approx((100 - 19) / 100 - 0.05)
    assert m2["recall_at_10"] == pytest.approx(10 / 20)
    with pytest.raises(ValueError):
        metrics([0, 0, 0])


def test_load_synergy_folder_and_priors(donners):
    assert len(donners.records) == 258 and donners.labels.sum() == 15
    assert all(r.id.startswith("W") for r in donners.records)
    p1 = draw_priors(donners.labels, 1, 1, seed=3)
    assert p1 == draw_priors(donners.labels, 1, 1, seed=3)
    assert donners.labels[p1[0]] == 1 and donners.labels[p1[1]] == 0
    assert {tuple(draw_priors(donners.labels, 1, 1, seed=s)) for s in range(1, 6)} != {tuple(p1)}
    p = draw_priors(donners.labels, 2, 3, seed=1)
    assert list(donners.labels[p]) == [1, 1, 0, 0, 0]
    with pytest.raises(DatasetError, match="16 included"):
        draw_priors(donners.labels, 16, 1, seed=1)


def test_simulation_finds_included_records_early(donners):
    X = TextFeatures().fit_transform(donners.records, donners.raws)
    found = []
    for seed in (1, 2):
        priors = draw_priors(donners.labels, 1, 1, seed)
        order = simulate(X, donners.labels, priors, ranker=Ranker(random_state=seed))
        assert sorted(order.tolist()) == list(range(258)) and list(order[:2]) == priors
        found.append(metrics(donners.labels[order[2:]]))
    # random order would find ~10 % by 10 % screened and WSS@95 ~ 0; ASReview 3.0.8 reaches .686 / .576 here
    assert np.mean([m["recall_at_10"] for m in found]) > 0.6
    assert np.mean([m["wss_95"] for m in found]) > 0.5


def write_csv(path, rows, header=("openalex_id", "title", "abstract", "label_included")):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_csv_dataset_errors_name_file_and_line(tmp_path):
    good = tmp_path / "d.csv"
    write_csv(good, [("https://openalex.org/W1", "A", "x", "1"), ("W2", "B", "y", "0")])
    ds = load_dataset(good)
    assert ds.ids == ["W1", "W2"] and list(ds.labels) == [1, 0]
    bad = tmp_path / "bad.csv"
    write_csv(bad, [("W1", "A", "x", "1"), ("W2", "B", "y", "yes")])
    with pytest.raises(DatasetError, match=r"bad.csv:3: label_included must be 0 or 1"):
        load_dataset(bad)
    write_csv(bad, [("W1", "A", "x", "1"), ("doi:10.1/x", "B", "y", "0")])
    with pytest.raises(DatasetError, match=r"bad.csv:3: openalex_id"):
        load_dataset(bad)
    write_csv(bad, [("W1", "A", "x")], header=("openalex_id", "title", "abstract"))
    with pytest.raises(DatasetError, match="no label column; name it one of label_included, included, label"):
        load_dataset(bad)
    write_csv(bad, [("W1", "A", "x", "0"), ("W2", "B", "y", "0")])
    with pytest.raises(DatasetError, match="2 records, 0 included and 2 excluded; a simulation needs at least one"):
        load_dataset(bad)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nothing")


ROWS = [("r7", "Emicizumab prophylaxis in haemophilia A", "A trial.", "1"),
        ("r8", "Hair cortisol and obesity", "A cohort.", "0"),
        ("r9", "Factor VIII inhibitors", "", "0")]


def test_asreview_style_tables_and_ris_with_any_record_id(tmp_path):
    """CSV, TSV, Excel and RIS give the same records, labels and the file's own ids."""
    import openpyxl

    csv_file = tmp_path / "set.csv"
    write_csv(csv_file, ROWS, header=("record_id", "title", "abstract", "included"))
    tsv = tmp_path / "set.tsv"
    tsv.write_text("record_id\tPrimary_Title\tabstract\tLabel\n" + "".join("\t".join(r) + "\n" for r in ROWS))
    xlsx = tmp_path / "set.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["record_id", "title", "abstract", "label_included"])
    for r in ROWS:
        wb.active.append([r[0], r[1], r[2] or None, int(r[3])])  # Excel gives numbers and empty cells
    wb.save(xlsx)
    ris = tmp_path / "set.ris"
    ris.write_text("".join(f"TY  - JOUR\nID  - {i}\nTI  - {t}\nAB  - {a}\nN1  - label_included: {y}\nER  - \n\n"
                           for i, t, a, y in ROWS))
    for f in (csv_file, tsv, xlsx, ris):
        ds = load_dataset(f)
        assert ds.ids == ["r7", "r8", "r9"], f
        assert list(ds.labels) == [1, 0, 0], f
        assert [r.title for r in ds.records] == [r[1] for r in ROWS], f
        assert ds.records[0].abstract == "A trial.", f
    ris.write_text("TY  - JOUR\nTI  - A\nN1  - ASReview_relevant\nER  - \n\n"
                   "TY  - JOUR\nTI  - B\nN1  - ASReview_irrelevant\nER  - \n\nTY  - JOUR\nTI  - C\nER  - \n")
    with pytest.raises(DatasetError, match="reference 3 has no label"):
        load_dataset(ris)
    tsv.write_text("record_id\ttitle\tlabel\nr1\tA\t1\nr2\tB\tmaybe\n")
    with pytest.raises(DatasetError, match=r"set.tsv:3: label must be 0 or 1 .*, got 'maybe'"):
        load_dataset(tsv)
    (tmp_path / "set.docx").write_text("x")
    with pytest.raises(DatasetError, match="unknown kind of dataset"):
        load_dataset(tmp_path / "set.docx")


def test_records_without_a_label_are_left_out_and_listed(tmp_path, capsys):
    """R writes a missing label as NA and a logical as TRUE/FALSE: the set is simulated without the unlabelled
    rows (their lines listed), ids stay the table's row numbers, and the CLI says what it left out."""
    f = tmp_path / "r.csv"
    f.write_text('"","title","abstract","included"\n'
                 '"1","Emicizumab prophylaxis in haemophilia A","A trial.",TRUE\n'
                 '"2","Hair cortisol and obesity",NA,NA\n'
                 '"3","Factor VIII inhibitors","A cohort.",FALSE\n'
                 '"4","Obesity and sleep","",\n'
                 '"5","Haemophilia gene therapy","A trial.",TRUE\n'
                 '"6","Knee replacement outcomes","A cohort.",FALSE\n', encoding="utf-8")
    ds = load_dataset(f)
    assert list(ds.labels) == [1, 0, 1, 0]
    assert [r.title for r in ds.records][1] == "Factor VIII inhibitors"
    assert ds.unlabelled == [f"{f}:3", f"{f}:5"]
    assert ds.records[1].abstract == "A cohort." and ds.records[0].abstract == "A trial."
    assert ds.ids == ["1", "3", "5", "6"]  # the row numbers, unlabelled rows counted
    ris = tmp_path / "r.ris"
    ris.write_text("".join(f"TY  - JOUR\nID  - {i}\nTI  - {t}\nN1  - label_included: {y}\nER  - \n\n"
                           for i, t, y in (("a", "A", "1"), ("b", "B", "NA"), ("c", "C", "0"), ("d", "D", ""))))
    ds = load_dataset(ris)
    assert ds.ids == ["a", "c"] and list(ds.labels) == [1, 0]
    assert ds.unlabelled == [f"{ris}: reference b", f"{ris}: reference d"]  # "label_included:" and nothing after
    assert main(["simulate", str(f), "--quiet", "--plot", str(tmp_path / "c.png")]) == 0
    err = capsys.readouterr().err
    assert f"left out 2 records without a label (empty or NA): {f}:3, {f}:5" in err


def test_cli_simulate_writes_every_record_priors_first(tmp_path, donners, capsys):
    # the same dataset as a CSV, to exercise the CSV path end to end
    data = tmp_path / "donners.csv"
    write_csv(data, [(r.id, r.title, r.abstract, int(lab)) for r, lab in zip(donners.records, donners.labels)])
    out = tmp_path / "order.csv"
    assert main(["simulate", str(data), "--prior-included", "1", "--prior-excluded", "1", "--seed", "4",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, 259)]
    assert sorted(r["record_id"] for r in rows) == sorted(donners.ids)
    assert [r["prior"] for r in rows[:3]] == ["1", "1", "0"] and sum(r["prior"] == "1" for r in rows) == 2
    label = dict(zip(donners.ids, donners.labels))
    priors = [r["record_id"] for r in rows[:2]]
    assert [label[p] for p in priors] == [1, 0]
    assert priors == [donners.ids[i] for i in draw_priors(donners.labels, 1, 1, 4)]
    # the printed metrics are the ones of the written order
    m = metrics([label[r["record_id"]] for r in rows[2:]])
    assert f"recall@10%: {m['recall_at_10']:.3f}" in printed
    assert f"WSS@95: {m['wss_95']:.3f}" in printed
    assert f"ATD: {m['atd']:.3f}" in printed


def test_cli_simulate_several_seeds_prints_spread_and_writes_curve_and_model(tmp_path, donners, capsys):
    import json

    data = tmp_path / "donners.tsv"
    with data.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["record_id", "title", "abstract", "label_included"])
        w.writerows([r.id, r.title, r.abstract, int(lab)] for r, lab in zip(donners.records, donners.labels))
    out = tmp_path / "order.csv"
    assert main(["simulate", str(data), "--seeds", "1-3", "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    info = json.loads(out.with_suffix(".json").read_text())
    runs = info["runs"]
    assert [r["seed"] for r in runs] == [1, 2, 3] and all((tmp_path / f"order_seed{s}.csv").exists() for s in (1, 2, 3))
    mean = np.mean([r["recall_at_10"] for r in runs])
    assert info["summary"]["recall_at_10"]["mean"] == pytest.approx(mean)
    assert f"recall@10%: {mean:.3f} ± " in printed and "over 3 seeds" in printed
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in printed
    # the resolved model configuration travels with the results (scikit-learn get_params of both parts)
    assert info["model"]["ranker"]["class"] == "Ranker" and info["model"]["ranker"]["random_state"] == 1
    assert set(TextFeatures().get_params()) <= set(info["model"]["features"])
    assert main(["simulate", str(data), "--seeds", "one-two"]) == 2


def test_cli_simulate_bad_dataset_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    write_csv(bad, [("W1", "A", "x", "2")])
    assert main(["simulate", str(bad), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.csv:2" in err and err.count("\n") == 1


def test_stop_point_on_hand_made_orders():
    from review.screening.simulate import stop_point
    from review.screening.stoppers import StopRule

    # every relevant record first, then 300 irrelevant ones: the consecutive rule stops 50 after the last one
    found = [1] * 10 + [0] * 300
    stop = stop_point(found, StopRule(kind="consecutive", consecutive=50, min_screened=10), checks=310)
    assert stop["screened"] == 60 and stop["recall"] == 1.0 and stop["rule"] == "consecutive"
    # a relevant record late in the order: a reviewer who stops early misses it, and the figure says so
    late = [1] * 9 + [0] * 200 + [1] + [0] * 100
    stop = stop_point(late, StopRule(kind="consecutive", consecutive=50, min_screened=10), checks=310)
    assert stop["screened"] == 59 and stop["recall"] == 0.9


def test_cli_simulate_says_what_was_simulated_and_where_the_stop_rule_stops(tmp_path, capsys):
    from pathlib import Path

    folder = Path(__file__).parent / "data" / "screening" / "Donners_2021"
    assert main(["simulate", str(folder), "--seed", "1", "--quiet", "--plot", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "simulated: every record of Donners_2021 screened in the model's order" in out
    assert "stop rule (hypergeometric): would stop after" in out and "estimated recall >=" in out


def test_run_summary_says_what_the_screening_stage_simulated():
    from review.pipeline import screening_lines

    lines = screening_lines({"pool": 120, "prescreen": {"excluded": 7},
                             "simulation": {"recall_at_10": 0.5, "wss_95": 0.4, "atd": 0.2, "n": 118, "labels": "l.csv",
                                            "stop": {"rule": "hypergeometric", "screened": 90, "recall": 0.97,
                                                     "estimated_recall": 0.95}}})
    assert lines == ["120 record(s) to screen, most likely relevant first; 7 excluded by the protocol's rules",
                     "simulated with the labels in l.csv (no decision written): recall@10% 0.500, WSS@95 0.400, "
                     "ATD 0.200",
                     "the stop rule (hypergeometric) would stop after 90 of 118 records, with estimated recall >= "
                     "0.95 (true recall 0.97)"]
