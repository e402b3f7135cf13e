"""Tests for pipeline.data.datasets.

The offline tests build tiny fake files in tmp_path. The tests marked ``shared_data`` read the real data in
../shared/data (or $VOC_DATA_DIR) and check the counts verified in each folder's SOURCE.md; no data rows are
stored in the repository.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from pipeline.data.datasets import (
    DATA_DIR_ENV,
    DATASETS,
    LabelledTexts,
    concat,
    default_shared_data_dir,
    load_airline_reasons,
    load_airline_sentiment,
    load_brand_intent,
    load_ibm_cdp_unlabelled,
    load_id_labels,
    load_semeval2017_test,
    load_semeval_train,
    load_speech_acts,
    load_twcs_unlabelled,
    load_tweeteval_sentiment,
    resolve_data_dir,
    shared_data_available,
    split_by_id,
)
from pipeline.data.io import file_fingerprint
from pipeline.data.sources import load_dataset
from pipeline.errors import InputError

SKIP_REASON = "../shared/data not found; set VOC_DATA_DIR"

# --------------------------------------------------------------------------------------------------------
# Fake data builders (synthetic rows written at test time)
# --------------------------------------------------------------------------------------------------------

AIRLINE_HEADER = [
    "tweet_id",
    "airline_sentiment",
    "airline_sentiment_confidence",
    "negativereason",
    "negativereason_confidence",
    "airline",
    "airline_sentiment_gold",
    "name",
    "negativereason_gold",
    "retweet_count",
    "text",
    "tweet_coord",
    "tweet_created",
    "tweet_location",
    "user_timezone",
]


def _airline_row(tid: str, sentiment: str, reason: str, airline: str, text: str) -> list[str]:
    return [
        tid,
        sentiment,
        "1.0",
        reason,
        "",
        airline,
        "",
        "someone",
        "",
        "0",
        text,
        "",
        "2015-02-24 11:35:52 -0800",
        "",
        "",
    ]


def write_fake_airline(root: Path) -> Path:
    folder = root / "twitter-us-airline-sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        _airline_row("1", "neutral", "", "Virgin America", "@VirginAmerica what, a day"),
        _airline_row("2", "negative", "Lost Luggage", "Delta", "@JetBlue where is my bag\nsecond line"),
        _airline_row("3", "positive", "", "United", "@united thanks"),
        _airline_row("2", "negative", "Lost Luggage", "Delta", "@JetBlue where is my bag\nsecond line"),
        _airline_row("3", "negative", "Bad Flight", "United", "@united thanks"),  # conflicting copy of 3
        _airline_row("4", "negative", "Can't Tell", "American", "@AmericanAir meh"),
        _airline_row("5", "negative", "Customer Service Issue", "Delta", "@DeltaAssist on hold for an hour"),
        _airline_row("6", "negative", "Late Flight", "Southwest", "@SouthwestAir Late Flight again"),
        _airline_row("6", "negative", "Bad Flight", "Southwest", "@SouthwestAir Late Flight again"),
    ]
    path = folder / "Tweets.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(AIRLINE_HEADER)
        writer.writerows(rows)
    return path


def write_fake_brand_intent(root: Path) -> Path:
    folder = root / "brand-intent"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "id\tcorpus\tsample\tintent\tunsure\tdouble_annotated\ttext",
        "2\tairline\trandom\tcomplaint\t0\t0\t@JetBlue where is my bag second line",
        '1\tairline\trandom\tquestion\t1\t1\t@VirginAmerica "what" a day',
        "99\tairline\trandom\tpraise\t0\t0\tnot in Tweets.csv",
    ]
    path = folder / "annotations.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_fake_semeval(root: Path) -> None:
    folder = root / "semeval2017-task4a-english"
    folder.mkdir(parents=True, exist_ok=True)
    train = (
        "10\tpositive\tI\\u2019m happy\\u002c really\t\n"
        '11\tneutral\t"Quoted ""text"" here, ok"\t\n'
        "12\tnegative\tbroken text\n"
        "continues here\t\n"
        "13\tpositive\tSame as test @someone http://t.co/abc\t\n"
        "14\tneutral\tin the test set by id\t\n"
        "10\tpositive\tduplicate of ten\t\n"
        "15\tpositive\temoji \\ud83d\\ude00 \\m/\tFri Aug 07 11:54:09 +0000 2015\n"
        "16\tnegative\tlabelled twice\t\n"
        "16\tpositive\tlabelled twice\t"
    )
    (folder / "twitter-2016test-A.tsv").write_text(train, encoding="utf-8")
    dev = '17\tneutral\tIt read: \\""Hi\\"" there\n'
    (folder / "twitter-2013dev-A.tsv").write_text(dev, encoding="utf-8")
    test = "14\tneutral\tsomething else\n20\tnegative\tsame as TEST!! @other https://t.co/xyz\n"
    (folder / "SemEval2017-task4-test.subtask-A.english.txt").write_text(test, encoding="utf-8")


def write_fake_tweeteval(root: Path) -> None:
    folder = root / "tweeteval" / "sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mapping.txt").write_text("0\tnegative\n1\tneutral\n2\tpositive\n", encoding="utf-8")
    (folder / "val_text.txt").write_text("@user good \nbad day \nok\u2028fine \n", encoding="utf-8")
    (folder / "val_labels.txt").write_text("2\n0\n1\n", encoding="utf-8")


def write_fake_twcs(root: Path) -> None:
    folder = root / "twcs-samples"
    folder.mkdir(parents=True, exist_ok=True)
    first = (
        ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "0,1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 We can help.,2,3.0\n"
        '1,2,115712,True,Tue Oct 31 22:11:45 +0000 2017,"@sprintcare and how, exactly",,1.0\n'
        "2,3,115713,True,Tue Oct 31 18:13:06 +0000 2017,@AskPayPal \r\rI love this email,,\n"
        "3,oops,115714,maybe,not a date,broken record,,\n"
        "4,5,115715,True,Tue Oct 31 18:13:06 +0000 2017,@115712 no company here,,\n"
    )
    (folder / "twcs-first5000.csv").write_bytes(first.encode("utf-8"))
    spotify = (
        ",index,tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "0,1,2,115712,True,Tue Oct 31 22:11:45 +0000 2017,duplicate id,,1.0\n"
        "1,7,8,115720,True,Wed Nov 01 01:02:03 +0000 2017,@SpotifyCares shuffle is broken,9,\n"
    )
    (folder / "spotifycares-support-requests.csv").write_text(spotify, encoding="utf-8")


def write_fake_ibm(root: Path) -> None:
    folder = root / "ibm-twitter-customer-care-cdp"
    folder.mkdir(parents=True, exist_ok=True)

    def conv(company: str, turns: list[dict[str, str]]) -> dict[str, object]:
        return {"agentURL": {}, "dialogContent": turns, "dialogHeader": {"company": company}}

    def turn(role: str, who: str, when: str, message: str, tweet_id: str) -> dict[str, str]:
        return {role: who, "datetime": when, "message": message, "tweet_ID": tweet_id}

    dev = [
        conv(
            "TMobileHelp",
            [
                turn("client", "TMobile", "2020-04-01T13:30:04.000Z", "Our news", "1"),
                turn("client1", "someone", "2020-04-01T20:35:04.000Z", "@TMobile so?", "2"),
                turn("agent", "TMobile", "2020-04-01T20:40:00.000Z", "We help", "3"),
            ],
        ),
    ]
    test = [
        conv(
            "Google",
            [
                turn("client", "a", "2019-07-07T21:02:22.000Z", "@Google help", "4"),
                turn("client", "someone", "2020-04-01T20:35:04.000Z", "@TMobile so?", "2"),
                turn("client", "googlefan", "2019-07-07T21:05:00.000Z", "@Google me again", "5"),
            ],
        ),
    ]
    (folder / "dev.json").write_text(json.dumps(dev), encoding="utf-8")
    (folder / "test.json").write_text(json.dumps(test), encoding="utf-8")


def write_fake_speech_acts(root: Path) -> None:
    folder = root / "tweet-act-classification"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [["RT @x: is this, a question?", "QUE"], ["what a day", "EXP"], ["no label"], ["odd", "XYZ"]]
    with open(folder / "TWEET_DATA.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _lt(ids: list[str], name: str = "toy") -> LabelledTexts:
    return LabelledTexts(
        name=name,
        texts=[f"text {i}" for i in ids],
        labels=["positive" if int(i) % 2 else "negative" for i in ids],
        ids=ids,
        groups=["g"] * len(ids),
        files=(Path("a.csv"),),
    )


# --------------------------------------------------------------------------------------------------------
# Offline tests
# --------------------------------------------------------------------------------------------------------


class TestResolveDataDir:
    def test_explicit_beats_env_and_config(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        explicit, env, configured = (tmp_path / n for n in ("explicit", "env", "configured"))
        for d in (explicit, env, configured):
            d.mkdir()
        monkeypatch.setenv(DATA_DIR_ENV, str(env))
        assert resolve_data_dir(explicit, configured) == explicit
        assert resolve_data_dir(str(explicit), None) == explicit

    def test_env_beats_config(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        env, configured = tmp_path / "env", tmp_path / "configured"
        env.mkdir()
        configured.mkdir()
        monkeypatch.setenv(DATA_DIR_ENV, str(env))
        assert resolve_data_dir(None, configured) == env

    def test_config_relative_to_base(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(DATA_DIR_ENV, raising=False)
        (tmp_path / "configs" / "data").mkdir(parents=True)
        assert resolve_data_dir(None, "data", base=tmp_path / "configs") == tmp_path / "configs" / "data"
        monkeypatch.chdir(tmp_path / "configs")
        assert resolve_data_dir(None, "data") == Path("data")

    def test_empty_env_is_ignored(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(DATA_DIR_ENV, "  ")
        assert resolve_data_dir(None, tmp_path) == tmp_path

    def test_none_given(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(DATA_DIR_ENV, raising=False)
        with pytest.raises(InputError, match=r"no data directory given.*--data-dir.*VOC_DATA_DIR"):
            resolve_data_dir()

    def test_missing_dir_named(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(DATA_DIR_ENV, raising=False)
        missing = tmp_path / "nope"
        with pytest.raises(InputError, match="does not exist") as info:
            resolve_data_dir(missing)
        assert str(missing) in str(info.value)
        assert "\n" not in str(info.value)
        monkeypatch.setenv(DATA_DIR_ENV, str(missing))
        with pytest.raises(InputError, match=r"\$VOC_DATA_DIR"):
            resolve_data_dir(None, tmp_path)

    def test_file_is_not_a_dir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(DATA_DIR_ENV, raising=False)
        f = tmp_path / "file.txt"
        f.write_text("x")
        with pytest.raises(InputError, match="not a directory"):
            resolve_data_dir(f)


def test_shared_data_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert shared_data_available(tmp_path)
    assert not shared_data_available(tmp_path / "missing")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert shared_data_available()
    assert default_shared_data_dir() == tmp_path


def test_file_fingerprint(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    data = bytes(range(256)) * 5000
    f.write_bytes(data)
    assert file_fingerprint(f) == "sha256:" + hashlib.sha256(data).hexdigest()
    with pytest.raises(InputError, match="not found"):
        file_fingerprint(tmp_path / "missing.bin")


def test_labelled_texts_subset_concat() -> None:
    a = _lt(["1", "2", "3"], "a")
    b = LabelledTexts("b", ["x"], ["neutral"], ["9"], [""], (Path("b.csv"),), ["2015-01-01T00:00:00+00:00"])
    sub = a.subset([2, 0])
    assert sub.ids == ["3", "1"] and sub.name == "a" and len(sub) == 2
    both = a.concat(b, name="ab")
    assert both.name == "ab" and len(both) == 4 and both.ids == ["1", "2", "3", "9"]
    assert both.created_at == ["", "", "", "2015-01-01T00:00:00+00:00"]
    assert both.files == (Path("a.csv"), Path("b.csv"))
    assert concat(a, a).name == "a+a" and concat(a, a).files == (Path("a.csv"),)
    assert a.label_counts() == {"positive": 2, "negative": 1}
    with pytest.raises(ValueError):
        LabelledTexts("bad", ["x"], [], ["1"], [""], ())


class TestSplitById:
    def test_deterministic_disjoint_order_free(self) -> None:
        data = _lt([str(i) for i in range(2000)])
        train, test = split_by_id(data)
        assert train.name == "toy:train" and test.name == "toy:test"
        assert set(train.ids).isdisjoint(test.ids)
        assert len(train) + len(test) == len(data)
        assert 0.17 < len(test) / len(data) < 0.23
        train2, test2 = split_by_id(data.subset(list(range(len(data)))[::-1]))
        assert set(test2.ids) == set(test.ids) and set(train2.ids) == set(train.ids)
        # A row's side does not depend on the other rows.
        _, test_half = split_by_id(data.subset(range(1000)))
        assert set(test_half.ids) == {i for i in test.ids if int(i) < 1000}

    def test_salt_and_fraction(self) -> None:
        data = _lt([str(i) for i in range(500)])
        assert set(split_by_id(data, salt="other")[1].ids) != set(split_by_id(data)[1].ids)
        assert len(split_by_id(data, 0.5)[1]) > len(split_by_id(data, 0.1)[1])
        for bad in (0.0, 1.0, -0.1):
            with pytest.raises(ValueError):
                split_by_id(data, bad)


def test_fake_airline(tmp_path: Path) -> None:
    path = write_fake_airline(tmp_path)
    data = load_airline_sentiment(tmp_path)
    assert data.ids == ["1", "2", "4", "5", "6"]  # 3 dropped: its two copies disagree
    assert data.labels == ["neutral", "negative", "negative", "negative", "negative"]
    assert data.groups == ["Virgin America", "JetBlue", "American", "Delta", "Southwest"]
    assert data.texts[1] == "@JetBlue where is my bag\nsecond line"  # raw, embedded newline kept
    assert data.created_at[0] == "2015-02-24T11:35:52-08:00"
    assert data.files == (path,)
    reasons = load_airline_reasons(tmp_path)
    assert reasons.ids == ["2", "5"]  # 4 is Can't Tell, 6 has conflicting reasons
    assert reasons.labels == ["Lost Luggage", "Customer Service Issue"]


def test_fake_brand_intent(tmp_path: Path) -> None:
    write_fake_airline(tmp_path)
    write_fake_brand_intent(tmp_path)
    data = load_brand_intent(tmp_path)
    assert data.ids == ["2", "1", "99"]
    assert data.labels == ["complaint", "question", "praise"]
    assert data.groups == ["JetBlue", "Virgin America", ""]
    assert data.texts[1] == '@VirginAmerica "what" a day'  # TSV, not CSV: quotes are text
    assert data.created_at == ["2015-02-24T11:35:52-08:00"] * 2 + [""]
    assert data.unsure == [False, True, False]  # the annotators' flag: two labels plausible
    assert data.subset([1]).unsure == [True]
    assert len(data.files) == 2


def test_fake_semeval(tmp_path: Path) -> None:
    write_fake_semeval(tmp_path)
    test = load_semeval2017_test(tmp_path)
    assert test.ids == ["14", "20"] and test.labels == ["neutral", "negative"]
    train = load_semeval_train(tmp_path, years=("2016test", "2013dev"))
    by_id = dict(zip(train.ids, train.texts, strict=True))
    assert list(by_id) == ["10", "11", "12", "15", "17"]  # 13: text in test; 14: id in test; 16: conflicting
    assert by_id["10"] == "I\u2019m happy, really"
    assert by_id["11"] == 'Quoted "text" here, ok'
    assert by_id["12"] == "broken text continues here"
    assert by_id["15"] == "emoji \U0001f600 \\m/"
    assert by_id["17"] == 'It read: "Hi" there'
    assert dict(zip(train.ids, train.labels, strict=True))["10"] == "positive"
    with pytest.raises(InputError, match="unknown SemEval"):
        load_semeval_train(tmp_path, years=("2099train",))
    with pytest.raises(InputError, match=r"twitter-2013train-A\.tsv not found"):
        load_semeval_train(tmp_path, years=("2013train",))


def test_fake_tweeteval(tmp_path: Path) -> None:
    write_fake_tweeteval(tmp_path)
    val = load_tweeteval_sentiment(tmp_path, "val")
    assert val.labels == ["positive", "negative", "neutral"]
    assert val.ids == ["tweeteval-val-1", "tweeteval-val-2", "tweeteval-val-3"]
    assert val.texts[2] == "ok\u2028fine"  # only "\n" ends a line
    with pytest.raises(InputError, match=r"train_text\.txt is not in the shared data"):
        load_tweeteval_sentiment(tmp_path, "train")
    with pytest.raises(InputError, match="unknown tweeteval split"):
        load_tweeteval_sentiment(tmp_path, "dev")
    with pytest.raises(InputError, match=r"test_text\.txt not found"):
        load_tweeteval_sentiment(tmp_path, "test")


def test_fake_twcs(tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    data = load_twcs_unlabelled(tmp_path)
    assert data.ids == ["twcs-2", "twcs-3", "twcs-5", "twcs-8"]  # malformed record and duplicate id skipped
    assert data.groups == ["sprintcare", "AskPayPal", "", "SpotifyCares"]
    # The bare CRs inside the text did not split the record.
    assert data.texts[1] == "@AskPayPal   I love this email"
    assert data.created_at[0] == "2017-10-31T22:11:45+00:00"
    assert set(data.labels) == {""}
    everything = load_twcs_unlabelled(tmp_path, inbound_only=False)
    assert everything.ids[0] == "twcs-1" and everything.groups[0] == "sprintcare"


def _write_id_labels(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_id_labels_join_texts_from_the_shared_data(tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    labels = _write_id_labels(
        tmp_path / "labels.jsonl",
        [
            {"dataset": "twcs", "id": "twcs-8", "intent": "complaint", "sentiment": "negative", "brand": "Spotify"},
            {"dataset": "twcs", "id": "twcs-3", "intent": "praise", "unsure": 1},
            {"dataset": "twcs", "id": "twcs-2", "sentiment": "neutral"},  # no intent: left out of intent
        ],
    )
    data = load_id_labels(labels, tmp_path)  # first task present: intent
    assert data.ids == ["twcs-8", "twcs-3"]
    assert data.labels == ["complaint", "praise"]
    assert data.texts == ["@SpotifyCares shuffle is broken", "@AskPayPal   I love this email"]
    assert data.groups == ["Spotify", "AskPayPal"]  # the file's brand wins, else the data set's group
    assert data.created_at[0] == "2017-11-01T01:02:03+00:00"
    assert data.unsure == [False, True]  # a row without the flag in a flagged file is a sure one
    assert labels in data.files and any(f.name == "twcs-first5000.csv" for f in data.files)
    sentiment = load_dataset(f"ids:{labels}", tmp_path, task="sentiment")
    assert sentiment.ids == ["twcs-8", "twcs-2"] and sentiment.labels == ["negative", "neutral"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"dataset": "twcs", "id": "twcs-999", "intent": "other"}], "1 ids are not in the shared data"),
        ([{"dataset": "nope", "id": "twcs-2", "intent": "other"}], "unknown dataset 'nope'"),
        ([{"id": "twcs-2", "intent": "other"}], "needs string fields 'dataset' and 'id'"),
        ([{"dataset": "twcs", "id": "twcs-2"}], "no 'intent' or 'sentiment' labels"),
    ],
)
def test_id_labels_refuse_what_they_cannot_resolve(rows: list[dict[str, object]], message: str, tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    labels = _write_id_labels(tmp_path / "labels.jsonl", rows)
    with pytest.raises(InputError, match=message):
        load_id_labels(labels, tmp_path)


def test_soft_id_labels_become_one_weighted_row_per_label(tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    labels = _write_id_labels(
        tmp_path / "soft.jsonl",
        [
            {"dataset": "twcs", "id": "twcs-8", "intent": "complaint", "intent_scores": {"complaint": 3, "other": 1}},
            {"dataset": "twcs", "id": "twcs-3", "intent": "praise", "intent_scores": {"praise": 0.9, "other": 0.0}},
        ],
    )
    data = load_id_labels(labels, tmp_path)
    assert data.ids == ["twcs-8", "twcs-8", "twcs-3"]  # a zero score adds no row
    assert data.labels == ["complaint", "other", "praise"]
    assert data.weights == [0.75, 0.25, 1.0]  # renormalised: each post weighs 1
    assert data.texts[0] == data.texts[1] == "@SpotifyCares shuffle is broken"
    assert data.subset([2, 0]).weights == [1.0, 0.75]
    top = load_id_labels(labels, tmp_path, soft=False)  # evaluation: one row per post, its top label
    assert top.ids == ["twcs-8", "twcs-3"] and top.labels == ["complaint", "praise"] and top.weights == []
    hard_file = _write_id_labels(tmp_path / "hard.jsonl", [{"dataset": "twcs", "id": "twcs-2", "intent": "other"}])
    hard = load_id_labels(hard_file, tmp_path)
    assert hard.weights == [] and hard.row_weights() == [1.0]
    assert concat(hard, data).weights == [1.0, 0.75, 0.25, 1.0]
    assert concat(hard, hard).weights == []
    flagged_file = _write_id_labels(
        tmp_path / "flagged.jsonl", [{"dataset": "twcs", "id": "twcs-2", "intent": "other", "unsure": "1"}]
    )
    flagged = load_id_labels(flagged_file, tmp_path)
    assert hard.unsure == [] and flagged.unsure == [True]
    assert concat(flagged, flagged).unsure == [True, True]
    assert concat(hard, flagged).unsure == []  # unknown certainty is neither sure nor unsure


@pytest.mark.parametrize("scores", [None, {}, {"other": -1}, {"other": 0}, {"other": "high"}, {"other": True}])
def test_soft_id_labels_refuse_bad_scores(scores: object, tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    rows: list[dict[str, object]] = [
        {"dataset": "twcs", "id": "twcs-8", "intent": "complaint", "intent_scores": {"complaint": 1.0}},
        {"dataset": "twcs", "id": "twcs-3", "intent": "other", "intent_scores": scores},
    ]
    if scores is None:
        del rows[1]["intent_scores"]  # a file with soft labels needs them on every row
    with pytest.raises(InputError, match="row 2: intent_scores must map labels"):
        load_id_labels(_write_id_labels(tmp_path / "soft.jsonl", rows), tmp_path)


def test_id_labels_as_a_training_source(tmp_path: Path) -> None:
    """``ids:FILE`` in a config's train list resolves relative to the config, texts from the data dir."""
    from pipeline.data.sources import is_file_source
    from pipeline.text.normalise import TweetNormaliser
    from pipeline.training.train import DatasetCache

    write_fake_twcs(tmp_path / "shared")
    (tmp_path / "cfg").mkdir()
    _write_id_labels(
        tmp_path / "cfg" / "labels.jsonl",
        [{"dataset": "twcs", "id": "twcs-8", "intent": "complaint", "sentiment": "negative"}],
    )
    assert not is_file_source("ids:labels.jsonl")  # needs the shared data, unlike a labelled file
    cache = DatasetCache(tmp_path / "shared", TweetNormaliser(), tmp_path / "cfg")
    assert cache.get("ids:labels.jsonl", "intent").labels == ["complaint"]
    assert cache.get("ids:labels.jsonl", "sentiment").labels == ["negative"]


def test_fake_ibm(tmp_path: Path) -> None:
    write_fake_ibm(tmp_path)
    data = load_ibm_cdp_unlabelled(tmp_path)
    # The brand's own opening post, the agent turn and the repeated turn are not customer text.
    assert data.ids == ["2", "4", "5"]
    assert data.groups == ["TMobileHelp", "Google", "Google"]
    assert data.created_at[:2] == ["2020-04-01T20:35:04+00:00", "2019-07-07T21:02:22+00:00"]


def test_fake_speech_acts(tmp_path: Path) -> None:
    write_fake_speech_acts(tmp_path)
    data = load_speech_acts(tmp_path)
    assert data.texts == ["RT @x: is this, a question?", "what a day"]
    assert data.labels == ["QUE", "EXP"] and data.ids == ["tac-1", "tac-2"]


def test_missing_files_raise_input_error(tmp_path: Path) -> None:
    for name, loader in DATASETS.items():
        with pytest.raises(InputError, match="not found") as info:
            loader(tmp_path)
        assert str(tmp_path) in str(info.value), name
        assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="does not exist"):
        load_airline_sentiment(tmp_path / "missing")


def test_load_dataset_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown dataset 'nope'; known: .*airline-sentiment"):
        load_dataset("nope", tmp_path)


def test_registry_names() -> None:
    expected = {
        "brand-intent",
        "airline-sentiment",
        "airline-sentiment:train",
        "airline-sentiment:test",
        "airline-reasons",
        "semeval-2013-2016",
        "semeval-2017-test",
        "tweeteval-sentiment:val",
        "tweeteval-sentiment:test",
        "speech-acts",
        "twcs",
        "ibm-cdp",
    }
    assert expected <= set(DATASETS)


# --------------------------------------------------------------------------------------------------------
# Tests on the real shared data (skipped when it is absent)
# --------------------------------------------------------------------------------------------------------

shared = pytest.mark.shared_data
needs_shared = pytest.mark.skipif(not shared_data_available(), reason=SKIP_REASON)


@pytest.fixture(scope="module")
def data_dir() -> Path:
    found = default_shared_data_dir()
    if found is None:
        pytest.skip(SKIP_REASON)
    return found


@pytest.fixture(scope="module")
def semeval_train(data_dir: Path) -> LabelledTexts:
    return load_semeval_train(data_dir)


@pytest.fixture(scope="module")
def semeval_test(data_dir: Path) -> LabelledTexts:
    return load_semeval2017_test(data_dir)


@shared
@needs_shared
def test_real_brand_intent(data_dir: Path) -> None:
    data = load_brand_intent(data_dir)
    assert len(data) == 1800
    assert data.label_counts() == {
        "complaint": 1060,
        "praise": 253,
        "other": 219,
        "question": 201,
        "favour-seeking": 67,
    }
    assert all(data.groups) and "JetBlue" in data.groups
    assert all(data.created_at)


@shared
@needs_shared
def test_real_airline_sentiment(data_dir: Path) -> None:
    start = time.perf_counter()
    data = load_airline_sentiment(data_dir)
    elapsed = time.perf_counter() - start
    # 14,485 unique ids, minus the 18 whose two copies carry different sentiment labels.
    assert len(data) == 14485 - 18
    assert len(set(data.ids)) == len(data)
    assert data.label_counts() == {"negative": 9081, "neutral": 3060, "positive": 2326}
    groups = Counter(data.groups)
    assert groups["JetBlue"] > 2200 and groups["Delta"] < 10
    assert all(c.endswith("-08:00") for c in data.created_at)
    assert elapsed < 1.0  # about 0.07 s on a laptop-class CPU; generous for loaded CI machines


@shared
@needs_shared
def test_real_airline_split(data_dir: Path) -> None:
    full = load_airline_sentiment(data_dir)
    train = load_dataset("airline-sentiment:train", data_dir)
    test = load_dataset("airline-sentiment:test", data_dir)
    assert set(train.ids).isdisjoint(test.ids)
    assert len(train) + len(test) == len(full)
    assert 0.18 < len(test) / len(full) < 0.22
    again_train, again_test = split_by_id(full.subset(list(range(len(full)))[::-1]))
    assert set(again_test.ids) == set(test.ids) and set(again_train.ids) == set(train.ids)
    assert (len(train), len(test)) == (11614, 2853)


@shared
@needs_shared
def test_real_airline_train_without_intent(data_dir: Path) -> None:
    """The sentiment data for an encoder reused by intent: no brand-intent tweet, by id or by text."""
    from pipeline.data.datasets import match_key

    train = load_dataset("airline-sentiment:train", data_dir)
    kept = load_dataset("airline-sentiment:train-without-intent", data_dir)
    intent = load_dataset("brand-intent", data_dir)
    assert set(kept.ids) <= set(train.ids)
    assert set(kept.ids).isdisjoint(intent.ids)
    intent_keys = {key for key in map(match_key, intent.texts) if key}
    assert {match_key(t) for t in kept.texts}.isdisjoint(intent_keys)
    assert 0.8 * len(train) < len(kept) < len(train)


@shared
@needs_shared
def test_real_airline_reasons(data_dir: Path) -> None:
    data = load_airline_reasons(data_dir)
    assert len(data) == 7878
    counts = data.label_counts()
    assert "Can't Tell" not in counts and len(counts) == 9
    assert counts["Customer Service Issue"] == 2877 and counts["Damaged Luggage"] == 73


@shared
@needs_shared
def test_real_semeval_2017_test(semeval_test: LabelledTexts) -> None:
    assert len(semeval_test) == 12284
    assert semeval_test.label_counts() == {"neutral": 5937, "negative": 3972, "positive": 2375}
    assert not any("\\u" in t for t in semeval_test.texts)


@shared
@needs_shared
def test_real_semeval_train_excludes_test(semeval_train: LabelledTexts, semeval_test: LabelledTexts) -> None:
    from pipeline.data.datasets import match_key

    assert len(set(semeval_train.ids)) == len(semeval_train)
    assert set(semeval_train.ids).isdisjoint(semeval_test.ids)
    test_keys = {match_key(t) for t in semeval_test.texts}
    assert not any(match_key(t) in test_keys for t in semeval_train.texts)
    # 49,570 unique ids in the 2013-2016 files, minus 84 ids labelled differently in two places.
    assert len(semeval_train) == 49486
    assert semeval_train.label_counts() == {"neutral": 22158, "positive": 19617, "negative": 7711}
    assert not any("\\u" in t for t in semeval_train.texts)  # JSON-style escapes decoded


@shared
@needs_shared
def test_real_tweeteval(data_dir: Path, semeval_test: LabelledTexts) -> None:
    test = load_tweeteval_sentiment(data_dir, "test")
    assert len(test) == 12284
    assert test.label_counts() == semeval_test.label_counts()
    val = load_tweeteval_sentiment(data_dir, "val")
    assert len(val) == 2000
    assert val.label_counts() == {"neutral": 869, "positive": 819, "negative": 312}
    with pytest.raises(InputError):
        load_tweeteval_sentiment(data_dir, "train")


@shared
@needs_shared
def test_real_speech_acts(data_dir: Path) -> None:
    data = load_speech_acts(data_dir)
    assert len(data) == 7500
    assert data.label_counts() == {
        "EXP": 3966,
        "STM": 1673,
        "QUE": 596,
        "SUG": 387,
        "OTH": 362,
        "THT": 310,
        "REQ": 206,
    }


@shared
@needs_shared
def test_real_twcs(data_dir: Path) -> None:
    data = load_twcs_unlabelled(data_dir)
    # 2,778 + 15,096 inbound records (the bare-CR record 3399 is recovered), 41 ids in both files.
    assert len(data) == 17833
    assert len(set(data.ids)) == len(data)
    groups = Counter(data.groups)
    assert groups["SpotifyCares"] > 15000 and groups[""] < 1000
    assert all(data.created_at)


@shared
@needs_shared
def test_real_ibm(data_dir: Path) -> None:
    data = load_ibm_cdp_unlabelled(data_dir)
    # 1,211 client turns (606 + 571 + 19 + 15 "client1"), minus 4 repeated tweet ids and 7 posts by the
    # brand's main account (TMobile, Chase, GoDaddy, amazon, hulu, DropboxBusiness).
    assert len(data) == 1200
    assert len(set(data.ids)) == len(data)
    assert all(data.groups) and len(set(data.groups)) == 25
    assert min(data.created_at) >= "2018-05-02" and max(data.created_at) < "2020-04-04"


@shared
@needs_shared
def test_real_registry_and_fingerprints(data_dir: Path) -> None:
    for name in DATASETS:
        data = load_dataset(name, data_dir)
        assert len(data) > 0, name
        assert all(f.is_file() for f in data.files), name
    fp = file_fingerprint(data_dir / "twitter-us-airline-sentiment" / "Tweets.csv")
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 64
