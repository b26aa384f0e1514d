"""Tooling shared by the workshop's notebooks, scripts and tests.

The notebooks teach plain boto3 and requests; this package only holds what would otherwise be
copied into every notebook and script: the switch between the local cloud and AWS
(:mod:`workshop.target`), the naming and tagging rules that keep classmates apart
(:mod:`workshop.naming`), the local cloud itself (:mod:`workshop.localcloud`), and the checks and
cleanup the scripts run.
"""
