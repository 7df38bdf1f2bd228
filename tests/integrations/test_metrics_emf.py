"""The EMF emitter: every line it writes passes the EMF specification, tenants never become
dimensions, and nothing is written unless METRICS_EMF turns it on."""

from __future__ import annotations

import logging
import math

import jsonschema
import pytest

from config.settings import base as base_settings
from integrations.metrics import (
    METRICS_LOGGER,
    MILLISECONDS,
    EmfMetrics,
    Metric,
    NullMetrics,
    get_metrics,
)
from tests.emf import EMF_SCHEMA, metric_names, parse_emf


def emitter(lines: list[str]) -> EmfMetrics:
    return EmfMetrics(namespace="Botwright", stage="prod", write=lines.append, clock=lambda: 1_700_000_000.5)


def test_an_event_is_one_line_that_passes_the_emf_specification():
    lines: list[str] = []
    emitter(lines).emit(
        [Metric("ChatLatency", 812.5, MILLISECONDS), Metric("Unanswered", 1)],
        dimensions={"channel": "public"},
        properties={"org": "org-1", "bot": "bot-9"},
        by_stage=["Unanswered"],
    )
    assert len(lines) == 1 and "\n" not in lines[0]
    document = parse_emf(lines[0])
    assert document["_aws"]["Timestamp"] == 1_700_000_000_500
    assert {d["Namespace"] for d in document["_aws"]["CloudWatchMetrics"]} == {"Botwright"}
    assert metric_names(document, ["stage", "channel"]) == {"ChatLatency", "Unanswered"}
    assert metric_names(document, ["stage"]) == {"Unanswered"}
    assert (document["stage"], document["channel"]) == ("prod", "public")
    assert (document["ChatLatency"], document["Unanswered"]) == (812.5, 1)
    assert (document["org"], document["bot"]) == ("org-1", "bot-9")
    dimension_names = {
        name for d in document["_aws"]["CloudWatchMetrics"] for ds in d["Dimensions"] for name in ds
    }
    assert dimension_names == {"stage", "channel"}


def test_the_schema_rejects_what_cloudwatch_would_reject():
    lines: list[str] = []
    emitter(lines).emit([Metric("DocumentFailures", 0)])
    good = parse_emf(lines[0])
    bad_unit = {**good, "_aws": {**good["_aws"]}}
    bad_unit["_aws"]["CloudWatchMetrics"] = [
        {**good["_aws"]["CloudWatchMetrics"][0], "Metrics": [{"Name": "DocumentFailures", "Unit": "ms"}]}
    ]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_unit, EMF_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in good.items() if k != "_aws"}, EMF_SCHEMA)
    import json

    with pytest.raises(AssertionError, match="no string value"):
        parse_emf(json.dumps({k: v for k, v in good.items() if k != "stage"}))
    with pytest.raises(AssertionError, match="not a number"):
        parse_emf(json.dumps({**good, "DocumentFailures": "0"}))


@pytest.mark.parametrize("dimension", ["org", "bot", "conversation"])
def test_a_per_tenant_dimension_is_refused(dimension):
    with pytest.raises(ValueError, match="properties"):
        emitter([]).emit([Metric("ChatLatency", 1.0, MILLISECONDS)], dimensions={dimension: "x"})
    with pytest.raises(ValueError, match="properties"):
        NullMetrics().emit([Metric("ChatLatency", 1.0, MILLISECONDS)], dimensions={dimension: "x"})


def test_unknown_units_and_shadowing_properties_are_refused():
    with pytest.raises(ValueError, match="not a CloudWatch unit"):
        emitter([]).emit([Metric("ChatLatency", 1.0, "ms")])
    with pytest.raises(ValueError, match="overwrite"):
        emitter([]).emit([Metric("Unanswered", 1)], properties={"Unanswered": "yes"})
    with pytest.raises(ValueError, match="overwrite"):
        emitter([]).emit([Metric("Unanswered", 1)], properties={"stage": "other"})
    with pytest.raises(ValueError, match="not emitted"):
        emitter([]).emit([Metric("Unanswered", 1)], dimensions={"channel": "api"}, by_stage=["Fallback"])


def test_values_json_cannot_carry_are_dropped_and_an_empty_event_writes_nothing():
    lines: list[str] = []
    emitter(lines).emit([Metric("ModelLatency", math.nan, MILLISECONDS), Metric("Fallback", 1)])
    document = parse_emf(lines[0])
    assert "ModelLatency" not in document and metric_names(document, ["stage"]) == {"Fallback"}
    emitter(lines).emit([Metric("ModelLatency", math.inf, MILLISECONDS)])
    assert len(lines) == 1


def test_metrics_are_off_unless_the_setting_turns_them_on(settings, caplog):
    settings.METRICS_EMF = False
    assert isinstance(get_metrics(), NullMetrics)
    settings.METRICS_EMF, settings.METRICS_STAGE, settings.METRICS_NAMESPACE = True, "dev", "Custom"
    with caplog.at_level(logging.INFO, logger=METRICS_LOGGER):
        get_metrics().emit([Metric("Fallback", 0)])
    (record,) = [r for r in caplog.records if r.name == METRICS_LOGGER]
    document = parse_emf(record.getMessage())
    assert document["stage"] == "dev"
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Custom"


def test_production_logging_prints_metric_lines_unwrapped_and_only_once():
    logger_config = base_settings.LOGGING["loggers"][METRICS_LOGGER]
    assert logger_config["propagate"] is False  # not repeated inside a JSON log record
    (handler_name,) = logger_config["handlers"]
    handler = base_settings.LOGGING["handlers"][handler_name]
    formatter = logging.Formatter(base_settings.LOGGING["formatters"][handler["formatter"]]["format"])
    lines: list[str] = []
    EmfMetrics(namespace="Botwright", stage="prod", write=lines.append).emit([Metric("Fallback", 1)])
    record = logging.LogRecord(METRICS_LOGGER, logging.INFO, __file__, 1, lines[0], None, None)
    assert formatter.format(record) == lines[0]
    parse_emf(formatter.format(record))
