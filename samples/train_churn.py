"""Train the Flama tutorial's churn classifier on data/data.parquet and save it as samples/churn.flm.

    python samples/train_churn.py [OUTPUT]

The pipeline is the tutorial's, fitted on a DataFrame so the model knows its feature
names: flm then maps named records (NDJSON objects, CSV, Parquet) by name and
positional rows (the tutorial's `[[...]]`) by order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import flmcli

ROOT = Path(__file__).resolve().parents[1]
NUMERICAL = ["CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
CATEGORICAL = ["Geography", "Gender"]
PARAMS = {"solver": "adam", "random_state": 123456, "max_iter": 300}


def build() -> Pipeline:
    numerical = Pipeline([("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())])
    categorical = Pipeline(
        [("imputer", SimpleImputer(strategy="constant", fill_value="missing")), ("onehot", OneHotEncoder(handle_unknown="ignore"))]
    )
    preprocessing = ColumnTransformer([("numerical", numerical, NUMERICAL), ("categorical", categorical, CATEGORICAL)])
    classifier = MLPClassifier(hidden_layer_sizes=(8, 6, 1), activation="tanh", **PARAMS)
    return Pipeline([("preprocessing", preprocessing), ("mlp_classifier", classifier)])


def main(output: Path) -> None:
    data = pd.read_parquet(ROOT / "data" / "data.parquet")
    X, y = data.drop(columns=["Exited"]), data["Exited"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=123456)
    model = build().fit(X_train, y_train)
    metrics = {
        "roc_auc_score": float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])),
        "f1_score": float(f1_score(y_test, model.predict(X_test))),
    }
    flmcli.dump(
        model,
        output,
        model_id="3f1c9f0e-2f2a-4c55-9d3b-0c1d6c1b7a01",
        timestamp="2026-11-27T00:00:00+00:00",
        params=PARAMS,
        metrics=metrics,
        extra={"model_author": "flm", "model_description": "Churn classifier (Flama tutorial)", "tags": ["loss", "churn"]},
        artifacts={"artifact.json": str(ROOT / "data" / "artifact.json")},
    )
    print(f"wrote {output}: {metrics}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "samples" / "churn.flm")
