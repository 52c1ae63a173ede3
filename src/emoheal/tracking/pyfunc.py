"""The registered MLflow model: a pyfunc wrapper around EmotionPredictor."""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd


class EmotionPyfunc(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame with a `text` column. Output: one row per text with the
    active labels and a probability column per label."""

    def load_context(self, context):
        from emoheal.emotion.predictor import EmotionPredictor

        self.predictor = EmotionPredictor(context.artifacts["emotion_model"])

    def predict(self, context, model_input, params=None):
        texts = model_input["text"].tolist() if isinstance(model_input, pd.DataFrame) else list(model_input)
        rows = []
        for p in self.predictor.predict(texts):
            rows.append({"labels": ",".join(p.labels), "truncated": p.truncated, **p.probabilities})
        return pd.DataFrame(rows)
