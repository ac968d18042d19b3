"""The prediction log: what serving answered, and the labels that came later.

Serving writes it (``PredictionLog``, ``FeedbackLog``); monitoring and the
closed loop read it (``reader.read_predictions``, ``labels.read_labelled``,
``schema.inputs``).
Its layout and columns are defined in ``loopml.predictions.schema`` alone.
"""
