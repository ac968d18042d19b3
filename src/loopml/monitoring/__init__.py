"""Monitoring: drift statistics, live and estimated performance, monitors, alerts, reports."""
