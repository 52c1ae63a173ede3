"""The crisis screen: every risk phrase is caught (recall 1.0), idioms rarely (≤ 10 %), and only
counters are logged."""

from __future__ import annotations

import logging

import pytest

from emoheal.safety.screen import resources_for, screen

POSITIVE = [
    "I want to kill myself",
    "i've been thinking about killing myself",
    "I'm going to end my life tonight",
    "sometimes I think about ending my own life",
    "I keep thinking about suicide",
    "I feel suicidal",
    "I just want to die",
    "I wanna die",
    "I wish I were dead",
    "I'd rather be dead",
    "everyone would be better off without me",
    "they'd be better off if I was gone, better off dead honestly",
    "there's no reason to live anymore",
    "I have nothing to live for",
    "I hurt myself again last night",
    "I've started cutting myself",
    "I've been self-harming",
    "I'm thinking of taking all my pills",
    "what if I overdosed",
    "I want to end it all",
    "I hope I never wake up",
    "I wrote a suicide note",
    "this is goodbye, I'm done",
    "I am ready to die",
    "I decided to not be alive anymore",
    "I want to take my own life",
    "我不想活了",
    "我想自杀",
    "有时候会想伤害自己",
    "I don\u2019t want to live, I want to kill myself",
]

IDIOMS = [
    "this commute is killing me",
    "my feet are killing me after that hike",
    "I'm dying to see the new film",
    "I'm dying for a coffee",
    "that chocolate cake is to die for",
    "I'm dead tired after work",
    "we totally killed it at the concert",
    "I could kill for a pizza right now",
    "I nearly died of embarrassment",
    "my phone is dead again",
    "the battery went dead on the train",
    "this heat is killing me",
    "you're killing me with these puns",
    "the suspense is killing me",
    "I'm dying to know how it ends",
    "my plants are dead because I forgot them",
    "she slayed it on stage",
    "the deadline is next week",
    "I died laughing at that video",
    "I'm so tired I could sleep for a week",
    "this job is a dead end",
    "the party was dead by midnight",
    "I killed the spider in the kitchen",
    "the meeting dragged on forever and ever",
    "that game was a killer",
]


def test_every_risk_phrase_is_high_risk():
    missed = [text for text in POSITIVE if screen(text).level != "high"]
    assert missed == []  # recall 1.0


def test_idioms_rarely_raise_an_alarm():
    alarms = [text for text in IDIOMS if screen(text).level != "none"]
    assert len(alarms) / len(IDIOMS) <= 0.10, alarms
    for text in ("this commute is killing me", "I'm dying to see it"):
        assert screen(text).level == "none"


def test_high_risk_comes_with_resources_for_the_locale():
    us = screen("I want to die", locale="US")
    assert us.stops_session and any(r["contact"] == "988" for r in us.resources)
    uk = screen("I want to die", locale="uk")
    assert any(r["contact"] == "116 123" for r in uk.resources)
    assert "person" in us.message and "emergency" in us.message
    assert any("findahelpline" in r["contact"] for r in resources_for("ZZ"))  # unknown locale: the directory


def test_the_detector_raises_a_hopeless_statement_with_strong_distress():
    assert screen("I can't go on like this").level == "medium"
    assert screen("I can't go on like this", {"sadness": 0.5, "grief": 0.3}).level == "high"
    assert screen("it was a long day", {"grief": 0.95}).level == "low"
    assert screen("it was a long day", {"joy": 0.9}).level == "none"


def test_only_counters_are_logged(caplog):
    secret = "I want to kill myself because of Zanzibar-9431"
    with caplog.at_level(logging.DEBUG):
        result = screen(secret)
    assert result.level == "high"
    assert "Zanzibar" not in caplog.text and "kill" not in caplog.text
    assert "safety screen" in caplog.text
    assert all("Zanzibar" not in reason for reason in result.reasons)


@pytest.mark.parametrize("text", ["I would never kill myself", "my friend talked about suicide"])
def test_it_errs_toward_flagging(text):
    assert screen(text).level == "high"
