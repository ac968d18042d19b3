"""The prediction log: what serving answered, and the labels that came later.

Serving writes it (``PredictionLog``, ``FeedbackLog``); monitoring and the
closed loop read it (``read_predictions``, ``read_labelled``, ``inputs``).
Its layout and columns are defined in ``loopml.predictions.schema`` alone.
"""
