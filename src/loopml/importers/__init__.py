"""Copies of other tools' stores into loopml: ``loopml import mlflow``."""
