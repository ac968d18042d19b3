"""Explanations and fairness: why each prediction, and whether groups are treated alike.

Needs the ``explain`` extra (shap, fairlearn): ``pip install 'loopml[explain]'``.
LightGBM and XGBoost explain themselves without it.
"""
