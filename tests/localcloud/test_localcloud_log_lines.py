"""The exact text of Lambda's platform log lines (START / END / REPORT / timeout)."""

from __future__ import annotations

import re

from workshop.localcloud.cloudwatch import LambdaLogStream, ReportLine, iso_timestamp, new_stream_name

REQUEST_ID = "8a7f9b2c-1d3e-4f5a-9b8c-7d6e5f4a3b2c"


def test_report_line_of_a_cold_start():
    line = ReportLine(REQUEST_ID, 12.341, 128, 77, init_duration_ms=250.5).render()

    assert line == (
        f"REPORT RequestId: {REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 77 MB\tInit Duration: 250.50 ms"
    )


def test_report_line_of_a_warm_timeout_bills_at_least_one_millisecond():
    assert ReportLine(REQUEST_ID, 0.2, 256, 50, status="timeout").render() == (
        f"REPORT RequestId: {REQUEST_ID}\tDuration: 0.20 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 50 MB\tStatus: timeout"
    )


def test_start_end_and_timeout_lines():
    assert LambdaLogStream.start_line(REQUEST_ID, "$LATEST") == f"START RequestId: {REQUEST_ID} Version: $LATEST"
    assert LambdaLogStream.end_line(REQUEST_ID) == f"END RequestId: {REQUEST_ID}"
    assert LambdaLogStream.timeout_line(REQUEST_ID, 3, epoch_ms=1_000_123) == (
        f"1970-01-01T00:16:40.123Z {REQUEST_ID} Task timed out after 3.00 seconds"
    )


def test_timestamps_and_stream_names_have_aws_shapes():
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert iso_timestamp(1_001) == "1970-01-01T00:00:01.001Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_timestamp())
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", new_stream_name("$LATEST"))
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[3\][0-9a-f]{32}", new_stream_name("3"))
